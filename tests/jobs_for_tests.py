"""Job classes shared by the tests; defined at module level so each has one name."""

from __future__ import annotations

import asyncio
import enum
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import mel

#: what jobs did, appended to by run() and callbacks: (event, details...)
events: list[tuple[Any, ...]] = []


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Point:
    x: int
    y: float


class Record(mel.Job):
    """Records its run."""

    label: str
    n: int = 0

    async def run(self) -> None:
        events.append(("run", self.label, self.n))


class SyncRecord(mel.Job):
    """A plain def run: runs in a thread."""

    label: str

    def run(self) -> None:
        events.append(("sync-run", self.label, threading.current_thread().name))


class Typed(mel.Job):
    """Every supported parameter type, to check round trips through each store."""

    s: str
    i: int
    f: float
    b: bool
    none: None
    li: list[int]
    tu: tuple[str, int]
    d: dict[str, list[float]]
    st: set[str]
    opt: int | None
    union: str | datetime
    when: datetime
    day: date
    span: timedelta
    uid: UUID
    dec: Decimal
    color: Color
    point: Point
    progress: mel.Progress
    items: list[Point] = field(default_factory=list)

    async def run(self) -> None:
        events.append(("typed", {k: getattr(self, k) for k in self.__mel_codec__.field_names}))


class Failing(mel.Job):
    """Fails ``times`` times per label, then succeeds."""

    label: str
    times: int = 1_000_000

    async def run(self) -> None:
        count = sum(1 for e in events if e[:2] == ("attempt", self.label))
        events.append(("attempt", self.label))
        if count < self.times:
            raise RuntimeError(f"failure {count + 1} of {self.label}")

    async def after_run(self, success: bool) -> None:
        events.append(("after_run", self.label, success))


class Callbacks(mel.Job):
    """Records every callback in order."""

    label: str
    fail: bool = False

    def before_enqueue(self) -> None:
        events.append(("before_enqueue", self.label))

    def after_enqueue(self, success: bool) -> None:
        events.append(("after_enqueue", self.label, success))

    async def before_run(self) -> None:
        events.append(("before_run", self.label))

    async def run(self) -> None:
        events.append(("run", self.label))
        if self.fail:
            raise ValueError("nope")

    def after_run(self, success: bool) -> None:
        events.append(("after_run", self.label, success))

    def before_dequeue(self) -> None:
        events.append(("before_dequeue", self.label))

    def after_dequeue(self, success: bool) -> None:
        events.append(("after_dequeue", self.label, success))


class BrokenCallbacks(mel.Job):
    """Every callback raises; the task must still run and finish."""

    label: str

    def before_enqueue(self) -> None:
        raise RuntimeError("before_enqueue broke")

    def after_enqueue(self, success: bool) -> None:
        raise RuntimeError("after_enqueue broke")

    async def before_run(self) -> None:
        raise RuntimeError("before_run broke")

    async def run(self) -> None:
        events.append(("run", self.label))

    def after_run(self, success: bool) -> None:
        raise RuntimeError("after_run broke")


class Slow(mel.Job):
    """Sleeps, recording start and end."""

    label: str
    seconds: float = 0.2

    async def run(self) -> None:
        events.append(("start", self.label))
        await asyncio.sleep(self.seconds)
        events.append(("end", self.label))


class OnlyAt(mel.jobs.At):
    """A job restricted to run_at."""

    async def run(self) -> None:
        events.append(("only-at",))


class AtAndEvery(mel.jobs.At, mel.jobs.Every):
    """Templates combine."""

    async def run(self) -> None:
        events.append(("at-every",))
