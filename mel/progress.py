"""Progress tracking: a value from -1 (failed) to 100 (done) kept in the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

from mel import clock, config, portal, scheduling
from mel.stores.base import ProgressRecord, WriteBatch
from mel.transaction import Transaction


@dataclass(frozen=True, slots=True)
class ProgressReport:
    """A progress as last stored."""

    id: str
    description: str
    value: int

    @property
    def pending(self) -> bool:
        """Not started: value 0."""
        return self.value == 0

    @property
    def running(self) -> bool:
        """Under way: 0 < value < 100."""
        return 0 < self.value < 100

    @property
    def started(self) -> bool:
        """Pending or running."""
        return 0 <= self.value < 100

    @property
    def success(self) -> bool:
        """Done: value 100."""
        return self.value == 100

    @property
    def failure(self) -> bool:
        """Failed: value -1."""
        return self.value == -1

    @property
    def ended(self) -> bool:
        """Succeeded or failed."""
        return self.success or self.failure


class Progress:
    """A handle on one progress. Building it stores nothing, so it can be a job parameter;
    :meth:`start` stores value 0, :meth:`move` any value (clamped to -1..100)."""

    __slots__ = ("description", "id")

    def __init__(self, id: str, description: str = "") -> None:
        if not isinstance(id, str) or not id:
            raise TypeError(f"a progress id must be a non-empty string, got {id!r}")
        if not isinstance(description, str):
            raise TypeError(f"a progress description must be a string, got {description!r}")
        self.id = id
        self.description = description

    def __repr__(self) -> str:
        return f"Progress({self.id!r}, description={self.description!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Progress) and (self.id, self.description) == (
            other.id,
            other.description,
        )

    def __hash__(self) -> int:
        return hash((self.id, self.description))

    def _mel_to_json(self) -> Any:
        return {"id": self.id, "d": self.description}

    @classmethod
    def _mel_from_json(cls, data: Any) -> Progress:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ValueError(f"not a stored progress: {data!r}")
        return cls(data["id"], data.get("d", ""))

    def _record(self, value: int | float) -> ProgressRecord:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"a progress value must be a number, got {value!r}")
        expiry = config.current.progress_expiry
        expires = None if expiry is None else clock.now_ms() + int(expiry.total_seconds() * 1000)
        return ProgressRecord(self.id, self.description, max(-1, min(100, round(value))), expires)

    def _write(self, value: int | float, tx: Transaction | None) -> None:
        record = self._record(value)
        if tx is not None:
            tx.add_progress(record)
            return
        store = config.require_store()
        if store is not None:
            scheduling.write(store, WriteBatch(progress=[record]))

    async def _awrite(self, value: int | float, tx: Transaction | None) -> None:
        record = self._record(value)
        if tx is not None:
            tx.add_progress(record)
            return
        store = config.require_store()
        if store is not None:
            await scheduling.awrite(store, WriteBatch(progress=[record]))

    @classmethod
    def start(cls, id: str, description: str = "", *, tx: Transaction | None = None
              ) -> Progress:
        """Build a progress and store value 0."""
        progress = cls(id, description)
        progress._write(0, tx)
        return progress

    @classmethod
    async def astart(cls, id: str, description: str = "", *, tx: Transaction | None = None
                     ) -> Progress:
        """Async twin of :meth:`start`."""
        progress = cls(id, description)
        await progress._awrite(0, tx)
        return progress

    def move(self, value: int | float, tx: Transaction | None = None) -> None:
        """Store ``value`` (clamped to -1..100; may go backwards); refreshes the expiry."""
        self._write(value, tx)

    async def amove(self, value: int | float, tx: Transaction | None = None) -> None:
        """Async twin of :meth:`move`."""
        await self._awrite(value, tx)

    def succeed(self, tx: Transaction | None = None) -> None:
        """Store 100."""
        self._write(100, tx)

    async def asucceed(self, tx: Transaction | None = None) -> None:
        """Async twin of :meth:`succeed`."""
        await self._awrite(100, tx)

    def fail(self, tx: Transaction | None = None) -> None:
        """Store -1."""
        self._write(-1, tx)

    async def afail(self, tx: Transaction | None = None) -> None:
        """Async twin of :meth:`fail`."""
        await self._awrite(-1, tx)

    @overload
    @staticmethod
    def track(ids: str) -> ProgressReport | None: ...  # type: ignore[overload-overlap]
    @overload
    @staticmethod
    def track(ids: Sequence[str]) -> list[ProgressReport]: ...
    @staticmethod
    def track(ids: str | Sequence[str]) -> ProgressReport | None | list[ProgressReport]:
        """The stored report for an id (None: unknown or expired), or for a list of ids
        the reports that exist, in the order asked."""
        return portal.call(_atrack(ids))

    @overload
    @staticmethod
    async def atrack(ids: str) -> ProgressReport | None: ...  # type: ignore[overload-overlap]
    @overload
    @staticmethod
    async def atrack(ids: Sequence[str]) -> list[ProgressReport]: ...
    @staticmethod
    async def atrack(ids: str | Sequence[str]) -> ProgressReport | None | list[ProgressReport]:
        """Async twin of :meth:`track`."""
        return await _atrack(ids)


async def _atrack(ids: str | Sequence[str]) -> ProgressReport | None | list[ProgressReport]:
    single = isinstance(ids, str)
    wanted = [ids] if isinstance(ids, str) else list(ids)
    store = config.require_store()
    if store is None:
        return None if single else []
    await scheduling.ready(store)
    records = await store.get_progress(wanted, clock.now_ms())
    reports = [ProgressReport(r.id, r.description, r.value) for r in records]
    if single:
        return reports[0] if reports else None
    return reports
