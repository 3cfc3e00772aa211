"""The store seam: the records a store keeps and the operations every store implements.

A store is the single source of truth for schedules. It knows nothing about jobs,
schedules or retries: a task is an id, a queue, a due time, an attempt count and an opaque
``data`` string (JSON written by :mod:`mel.task`). Everything that needs to understand a
task happens in Python, in one place, so every store behaves the same.

Contract, for every store (the shared suite in ``tests/stores/test_contract.py`` checks it):

* Every method is ``async`` and atomic on its own; times are integer milliseconds since
  the epoch handed in by the caller (a store never reads the wall clock itself).
* A store object may be used from more than one event loop (the application's loop and
  the private loop behind Mel's sync API), one at a time per loop: connections that are
  bound to a loop must be kept per loop.
* A task is *leased* while ``lease_until_ms > now``; otherwise it is *free*. A free task is
  claimable when ``due_ms <= now``. A task whose lease lapsed is free again: its worker
  died or hung, and another may claim it.
* Every claim stamps a fresh fencing ``token`` (given by the caller, unique per claim
  call). :meth:`Store.finish`, :meth:`Store.renew` and :meth:`Store.release` change a task
  only while it still carries that token, so a stale owner can never delete, reschedule
  or hand back a task that has since been claimed again, replaced or cancelled.
* Writing a task whose id exists does nothing unless ``force`` is set; ``force`` replaces
  the stored task and clears its lease and token (a running copy's later writes are then
  refused).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

TaskState = Literal["scheduled", "running", "retrying", "failed"]


class NewTask(NamedTuple):
    """A task to store: written by ``run_*`` and transactions.

    A named tuple rather than a frozen dataclass: it is built once per scheduled task, and
    builds in less than half the time (0.4 µs against 0.9 µs)."""

    id: str
    queue: str
    due_ms: int
    data: str
    force: bool = False


@dataclass(frozen=True, slots=True)
class ProgressRecord:
    """One progress value; ``expires_ms`` None means it never expires."""

    id: str
    description: str
    value: int
    expires_ms: int | None


@dataclass(slots=True)
class WriteBatch:
    """Writes applied together, all or nothing: one ``run_*`` call or one transaction."""

    tasks: list[NewTask] = field(default_factory=list)
    progress: list[ProgressRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A task handed to a worker by :meth:`Store.claim`."""

    id: str
    queue: str
    due_ms: int
    attempts: int
    data: str
    token: str


@dataclass(frozen=True, slots=True)
class Claims:
    """What :meth:`Store.claim_next` returns: the tasks claimed, and when to claim again."""

    tasks: list[Claimed]
    #: :meth:`Store.next_due_ms` just after the claim; at most ``now_ms`` when the claim
    #: was full (more may be due at once); None when no task is left to wait for.
    next_due_ms: int | None


@dataclass(frozen=True, slots=True)
class StoredTask:
    """A scheduled or running task as the store holds it (for inspection)."""

    id: str
    queue: str
    due_ms: int
    attempts: int
    data: str
    lease_until_ms: int | None
    owner: str | None


@dataclass(frozen=True, slots=True)
class FailedTask:
    """A record in the failed set: a task that failed for good or could not be read."""

    id: str
    queue: str
    data: str
    attempts: int
    error: str
    traceback: str
    failed_ms: int
    expires_ms: int | None


@dataclass(frozen=True, slots=True)
class Delete:
    """Finish: the task is done for good; remove it."""

    id: str
    token: str


@dataclass(frozen=True, slots=True)
class Reschedule:
    """Finish: keep the task, due again at ``due_ms`` (next occurrence, or a retry)."""

    id: str
    token: str
    due_ms: int
    attempts: int
    data: str


@dataclass(frozen=True, slots=True)
class Fail:
    """Finish: remove the task and put it in the failed set."""

    id: str
    token: str
    record: FailedTask


@dataclass(frozen=True, slots=True)
class Release:
    """Hand a claimed task back unfinished: free at once, due time and data unchanged."""

    id: str
    token: str


Outcome = Delete | Reschedule | Fail | Release


class Watcher:
    """Wake-up signals from a store to one idle worker.

    ``event`` is set when a task was written that may be due before ``wake_ms``, the time
    the worker plans to wake anyway. The worker clears the event *before* it claims, so
    a write that lands between its claim and its sleep still wakes it.
    """

    def __init__(self, on_close: Callable[[Watcher], Awaitable[None]] | None = None) -> None:
        self.event = asyncio.Event()
        self.wake_ms: int = 2**62  # until the worker plans a wake-up, every write wakes it
        self._loop = asyncio.get_running_loop()
        self._on_close = on_close

    def notify(self, due_ms: int) -> None:
        """Called by the store, from any thread, when a task due at ``due_ms`` is written."""
        if due_ms < self.wake_ms:
            if self._loop.is_closed():
                return
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self.event.set)

    async def close(self) -> None:
        """Stop listening."""
        if self._on_close is not None:
            await self._on_close(self)


class Store(ABC):
    """The operations every store implements; see the module docstring for the contract."""

    #: whether other processes' writes wake this store's watchers (Redis, PostgreSQL); a
    #: store without it wakes only for writes made in this process, and workers poll.
    cross_process_wakeups: bool = False

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Connect and check the schema; idempotent."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the store may be opened again later."""

    async def migrate(self) -> None:  # noqa: B027 - optional hook
        """Create or upgrade the store's tables or keys; idempotent."""

    @abstractmethod
    async def write(self, batch: WriteBatch, now_ms: int) -> list[bool]:
        """Apply every task and progress write of ``batch`` atomically.

        Returns, per task in order, whether it was stored (False: the id existed and
        ``force`` was not set). Duplicate ids inside one batch: the first wins, unless a
        later one is forced. Wakes watchers whose planned wake-up is after a new due time.
        """

    def write_sync(self, batch: WriteBatch, now_ms: int) -> list[bool]:
        """Blocking twin of :meth:`write`, for Mel's sync API, callable from any thread.

        The default runs :meth:`write` on Mel's private loop, a thread hop each call;
        stores with a cheaper blocking path (a sync client, their own thread) override it.
        """
        from mel import portal  # the seam itself needs no event loop of its own

        return portal.call(self.write(batch, now_ms))

    @abstractmethod
    async def claim(
        self,
        worker_id: str,
        token: str,
        now_ms: int,
        limit: int | None,
        lease_ms: int,
        queues: Sequence[str] | None = None,
    ) -> list[Claimed]:
        """Lease up to ``limit`` (None: all) claimable tasks to ``worker_id``, earliest due first.

        Claimable: ``due_ms <= now_ms`` and free (no lease, or a lease that has lapsed).
        Each claimed task gets ``lease_until = now + lease_ms``, ``owner = worker_id`` and
        ``token``. No task is handed to two callers whose leases overlap.
        """

    async def claim_next(
        self,
        worker_id: str,
        token: str,
        now_ms: int,
        limit: int | None,
        lease_ms: int,
        queues: Sequence[str] | None = None,
    ) -> Claims:
        """:meth:`claim`, then when to claim again: the worker's whole round.

        A full claim (``limit`` tasks) answers ``now_ms``: more may be due. Otherwise the
        answer is :meth:`next_due_ms` after the claim. Stores override this to do both in
        one round trip; a worker that keeps up with tasks becoming due one by one would
        otherwise pay two per task.
        """
        tasks = await self.claim(worker_id, token, now_ms, limit, lease_ms, queues)
        if limit is not None and len(tasks) >= limit:
            return Claims(tasks, now_ms)
        return Claims(tasks, await self.next_due_ms(queues))

    @abstractmethod
    async def renew(
        self, tokens: Sequence[tuple[str, str]], now_ms: int, lease_ms: int
    ) -> set[str]:
        """Extend the leases of the ``(id, token)`` pairs still held; return their ids."""

    @abstractmethod
    async def finish(self, outcomes: Sequence[Outcome], now_ms: int) -> list[bool]:
        """Apply each outcome atomically and fenced; return per outcome whether it applied.

        An outcome applies only if the task exists and carries the outcome's token.
        """

    @abstractmethod
    async def release_worker(self, worker_id: str) -> int:
        """Free at once every task leased to ``worker_id`` (a restart of that worker)."""

    @abstractmethod
    async def next_due_ms(self, queues: Sequence[str] | None = None) -> int | None:
        """When the next task becomes claimable: the earliest due time of a free task or
        lease expiry of a leased one (either may be in the past); None if no task exists."""

    @abstractmethod
    async def get(self, task_id: str) -> StoredTask | None:
        """The scheduled or running task with this id."""

    @abstractmethod
    async def get_failed(self, task_id: str, now_ms: int) -> FailedTask | None:
        """The unexpired failed record with this id."""

    @abstractmethod
    async def list_tasks(
        self, queue: str | None = None, limit: int | None = None
    ) -> list[StoredTask]:
        """Scheduled and running tasks, earliest due first."""

    @abstractmethod
    async def list_failed(self, now_ms: int, limit: int | None = None) -> list[FailedTask]:
        """Unexpired failed records, latest failure first."""

    @abstractmethod
    async def counts(self, now_ms: int) -> dict[TaskState, int]:
        """How many tasks are scheduled, running, retrying (attempts > 0, not leased) and
        failed (unexpired)."""

    @abstractmethod
    async def cancel(self, task_id: str) -> bool:
        """Remove a scheduled or running task (a running copy's finish is then refused)
        and any failed record with this id; True if anything was removed."""

    @abstractmethod
    async def requeue_failed(self, task_id: str, due_ms: int, data: str, now_ms: int) -> bool:
        """Atomically move a failed record back to the schedule, due at ``due_ms`` with
        ``data`` and zero attempts; False if there is no such record or a task with this id
        is already scheduled."""

    @abstractmethod
    async def purge_failed(self, now_ms: int) -> int:
        """Delete failed records that expired; return how many."""

    @abstractmethod
    async def get_progress(self, ids: Sequence[str], now_ms: int) -> list[ProgressRecord]:
        """Unexpired progress records among ``ids``, in the order asked."""

    @abstractmethod
    async def truncate(self) -> None:
        """Delete every task, failed record and progress record of this store."""

    async def watch(self) -> Watcher:
        """Start listening for wake-ups; the base class only wakes on in-process writes."""
        watcher = Watcher(self._unwatch)
        self._local_watchers().add(watcher)
        return watcher

    async def _unwatch(self, watcher: Watcher) -> None:
        self._local_watchers().discard(watcher)

    def _local_watchers(self) -> set[Watcher]:
        watchers: set[Watcher] | None = getattr(self, "_mel_watchers", None)
        if watchers is None:
            watchers = set()
            self._mel_watchers = watchers
        return watchers

    def _notify_local(self, due_ms: int) -> None:
        """Wake this process's watchers for a task now due at ``due_ms``."""
        for watcher in tuple(self._local_watchers()):
            watcher.notify(due_ms)
