"""Transactions: many writes applied together, all or nothing, on every store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from mel import clock, config, portal, scheduling
from mel.errors import TransactionError
from mel.stores.base import NewTask, ProgressRecord, Store, WriteBatch

if TYPE_CHECKING:
    from mel.job import BaseJob


class Transaction:
    """Writes collected by ``with mel.transaction() as tx`` and applied when it exits.

    Pass it as ``tx=`` to ``run_*`` and to progress moves. ``results`` holds, after the
    commit, whether each task was stored (False: its id already existed).
    """

    def __init__(self, store: Store | None, connection: Any = None) -> None:
        self.store = store
        self.connection = connection
        self.batch = WriteBatch()
        self.results: list[bool] | None = None
        # Only the jobs with an after_enqueue callback, by their task's index in the batch.
        self._hooked: list[tuple[int, BaseJob, NewTask]] = []
        self._open = True

    def _check(self) -> None:
        if not self._open:
            raise TransactionError("this transaction has ended; start a new one")

    def add(self, task: NewTask, job: BaseJob) -> bool:
        """Queue a task write; False when storage is disabled (nothing will be written)."""
        self._check()
        if self.store is None:
            return False
        tasks = self.batch.tasks
        if "after_enqueue" in job.__mel_hooks__:
            self._hooked.append((len(tasks), job, task))
        tasks.append(task)
        return True

    def add_progress(self, record: ProgressRecord) -> None:
        """Queue a progress write."""
        self._check()
        if self.store is not None:
            self.batch.progress.append(record)

    def _end(self, results: list[bool] | None) -> None:
        self._open = False
        self.results = results
        scheduling.finish_batch(self._hooked, results)

    async def _write(self) -> list[bool]:
        assert self.store is not None
        if self.connection is None:
            return await scheduling.awrite(self.store, self.batch)
        write_in = getattr(self.store, "write_in", None)
        if write_in is None:
            raise TransactionError(
                f"{type(self.store).__name__} cannot write inside your own connection"
            )
        await scheduling.ready(self.store)
        results: list[bool] = await write_in(self.connection, self.batch, clock.now_ms())
        return results

    def _write_sync(self) -> list[bool]:
        assert self.store is not None
        if self.connection is not None and hasattr(self.store, "write_in_sync"):
            portal.call(scheduling.ready(self.store))
            results: list[bool] = self.store.write_in_sync(
                self.connection, self.batch, clock.now_ms()
            )
            return results
        if self.connection is not None:
            return portal.call(self._write())
        return scheduling.write(self.store, self.batch)

    def _empty(self) -> bool:
        return self.store is None or not (self.batch.tasks or self.batch.progress)


@contextmanager
def transaction(connection: Any = None) -> Iterator[Transaction]:
    """Collect writes and apply them together when the block exits; none if it raises.

    ``connection``: a psycopg connection the application holds (PostgreSQL store only); the
    writes then join that connection's transaction and are stored iff it commits.
    """
    tx = Transaction(config.require_store(), connection)
    try:
        yield tx
    except BaseException:
        tx._end(None)
        raise
    if tx._empty():
        tx._end([])
        return
    try:
        results = tx._write_sync()
    except BaseException:
        tx._end(None)
        raise
    tx._end(results)


@asynccontextmanager
async def atransaction(connection: Any = None) -> AsyncIterator[Transaction]:
    """Async twin of :func:`transaction` (``connection``: a psycopg async connection)."""
    tx = Transaction(config.require_store(), connection)
    try:
        yield tx
    except BaseException:
        tx._end(None)
        raise
    if tx._empty():
        tx._end([])
        return
    try:
        results = await tx._write()
    except BaseException:
        tx._end(None)
        raise
    tx._end(results)
