"""The small interface every engine adapter implements."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bench import common

T = TypeVar("T")

KINDS = ("incr", "noop", "late")


class NotSupported(Exception):
    """The engine lacks this feature: reported as n/a with the reason."""


class Engine:
    """One engine on one store. Subclasses set the class attributes and override the
    methods their engine supports; ``enqueue`` / ``aenqueue`` take a job kind (``incr``,
    ``noop`` or ``late``), a delay in seconds and, for ``late``, the scheduled epoch time.
    """

    name = "?"
    has_sync = False
    has_async = False
    has_bulk = False
    #: can schedule a task for later without a second process
    has_delay = True
    #: how many async enqueues the fastest loader keeps in flight
    load_concurrency = 50

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.loop = asyncio.new_event_loop()
        self.store_url = ""
        self.opened = False

    # -- store ----------------------------------------------------------------------

    def reset(self) -> None:
        """Empty the store (flush the Redis database, recreate the database or file)."""
        if self.opened:
            self.loop.run_until_complete(self.aclose())
            self.opened = False
        if self.backend == "redis":
            common.flush_queue_db()
            self.store_url = common.QUEUE_REDIS
        elif self.backend == "sqlite":
            path = common.sqlite_path(self.name)
            common.remove_sqlite(path)
            self.store_url = f"sqlite:///{path}"
        else:
            self.store_url = common.fresh_database(f"bench_{self.name}")
        self.loop.run_until_complete(self.aopen())
        self.opened = True

    def cleanup(self) -> None:
        if self.opened:
            self.loop.run_until_complete(self.aclose())
            self.opened = False
        if self.backend == "postgres":
            common.drop_database(f"bench_{self.name}")
        elif self.backend == "sqlite":
            common.remove_sqlite(common.sqlite_path(self.name))

    async def aopen(self) -> None:
        """Open clients (and create the schema) after a reset."""

    async def aclose(self) -> None:
        """Close clients opened by aopen."""

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    # -- scheduling -----------------------------------------------------------------

    def enqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        raise NotSupported("no sync API")

    async def aenqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        raise NotSupported("no async API")

    def bulk(self, kind: str, n: int, delay: float = 0.0) -> None:
        raise NotSupported("no bulk API")

    def enqueue_primary(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        if self.has_sync:
            self.enqueue(kind, delay, sched)
        else:
            self.run(self.aenqueue(kind, delay, sched))

    def load(self, kind: str, n: int, delay: float = 0.0, chunk: int = 10_000) -> None:
        """Store ``n`` tasks the fastest way this engine allows: its bulk API in chunks,
        else many async calls in flight, else one sync call after another."""
        if self.has_bulk:
            for start in range(0, n, chunk):
                self.bulk(kind, min(chunk, n - start), delay)
        elif self.has_async:
            self.run(self._aload(kind, n, delay))
        else:
            for _ in range(n):
                self.enqueue(kind, delay)

    async def _aload(self, kind: str, n: int, delay: float) -> None:
        left = n

        async def one_lane(count: int) -> None:
            for _ in range(count):
                await self.aenqueue(kind, delay)

        lanes = min(self.load_concurrency, n)
        counts = [left // lanes + (1 if i < left % lanes else 0) for i in range(lanes)]
        await asyncio.gather(*(one_lane(c) for c in counts))

    def pending(self) -> int:
        """Tasks not yet finished (only for engines whose body-less run is measured)."""
        raise NotSupported("no pending count")

    # -- worker ---------------------------------------------------------------------

    def worker_cmd(self) -> list[str]:
        raise NotImplementedError

    def bin(self, name: str) -> str:
        return str(Path(sys.executable).parent / name)

    def start_worker(self, log: Path) -> subprocess.Popen[bytes]:
        env = dict(os.environ, BENCH_STORE=self.store_url, PYTHONPATH=str(common.ROOT))
        out = open(log, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        return subprocess.Popen(self.worker_cmd(), cwd=common.ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the worker (and its children: it leads its own session), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
