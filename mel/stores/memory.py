"""MemoryStore: the reference store, kept in this process's memory.

For tests and single-process apps. It is a real implementation of the contract (leases,
fencing, atomic batches), so most of the suite runs against it without any server.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from mel.stores.base import (
    Claimed,
    Delete,
    Fail,
    FailedTask,
    Outcome,
    ProgressRecord,
    Release,
    Reschedule,
    Store,
    StoredTask,
    TaskState,
    WriteBatch,
)


@dataclass(slots=True)
class _Entry:
    queue: str
    due_ms: int
    attempts: int
    data: str
    lease_until_ms: int | None = None
    owner: str | None = None
    token: str | None = None
    # Heap entries are invalidated lazily: only the one carrying the entry's current seq counts.
    seq: int = 0


class MemoryStore(Store):
    """Tasks in a dict, indexed by two heaps (free tasks by due time, leases by expiry).

    Every operation holds one lock and never awaits inside it, so the store may be shared
    by threads and event loops of one process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, _Entry] = {}
        self._free: list[tuple[int, int, str]] = []
        self._leased: list[tuple[int, int, str]] = []
        self._failed: dict[str, FailedTask] = {}
        self._progress: dict[str, ProgressRecord] = {}
        self._seq = 0

    def __repr__(self) -> str:
        return "MemoryStore()"

    # -- index upkeep -------------------------------------------------------------------

    def _index(self, task_id: str, entry: _Entry) -> None:
        self._seq += 1
        entry.seq = self._seq
        if entry.lease_until_ms is None:
            heapq.heappush(self._free, (entry.due_ms, self._seq, task_id))
        else:
            heapq.heappush(self._leased, (entry.lease_until_ms, self._seq, task_id))

    def _valid(self, item: tuple[int, int, str]) -> _Entry | None:
        entry = self._tasks.get(item[2])
        return entry if entry is not None and entry.seq == item[1] else None

    def _lapse_leases(self, now_ms: int) -> None:
        while self._leased and self._leased[0][0] <= now_ms:
            item = heapq.heappop(self._leased)
            entry = self._valid(item)
            if entry is not None:
                entry.lease_until_ms = entry.owner = None
                self._index(item[2], entry)

    # -- writes -------------------------------------------------------------------------

    async def write(self, batch: WriteBatch, now_ms: int) -> list[bool]:
        """Apply the batch under the lock: nothing else can see half of it."""
        return self.write_sync(batch, now_ms)

    def write_sync(self, batch: WriteBatch, now_ms: int) -> list[bool]:
        """Apply the batch under the lock, from any thread."""
        results: list[bool] = []
        earliest: int | None = None
        with self._lock:
            for task in batch.tasks:
                if task.id in self._tasks and not task.force:
                    results.append(False)
                    continue
                entry = _Entry(task.queue, task.due_ms, 0, task.data)
                self._tasks[task.id] = entry
                self._index(task.id, entry)
                results.append(True)
                earliest = task.due_ms if earliest is None else min(earliest, task.due_ms)
            for record in batch.progress:
                self._progress[record.id] = record
        if earliest is not None:
            self._notify_local(earliest)
        return results

    async def claim(
        self,
        worker_id: str,
        token: str,
        now_ms: int,
        limit: int | None,
        lease_ms: int,
        queues: Sequence[str] | None = None,
    ) -> list[Claimed]:
        """Pop due free tasks in due order, skipping (and keeping) other queues' tasks."""
        claimed: list[Claimed] = []
        skipped: list[tuple[int, int, str]] = []
        with self._lock:
            self._lapse_leases(now_ms)
            while self._free and (limit is None or len(claimed) < limit):
                if self._free[0][0] > now_ms:
                    break
                item = heapq.heappop(self._free)
                entry = self._valid(item)
                if entry is None:
                    continue
                if queues is not None and entry.queue not in queues:
                    skipped.append(item)
                    continue
                entry.lease_until_ms = now_ms + lease_ms
                entry.owner, entry.token = worker_id, token
                self._index(item[2], entry)
                claimed.append(
                    Claimed(item[2], entry.queue, entry.due_ms, entry.attempts, entry.data, token)
                )
            for item in skipped:
                heapq.heappush(self._free, item)
        return claimed

    def _held(self, task_id: str, token: str) -> _Entry | None:
        entry = self._tasks.get(task_id)
        return entry if entry is not None and entry.token == token else None

    async def renew(
        self, tokens: Sequence[tuple[str, str]], now_ms: int, lease_ms: int
    ) -> set[str]:
        """Extend the leases still held under their tokens."""
        held: set[str] = set()
        with self._lock:
            for task_id, token in tokens:
                entry = self._held(task_id, token)
                if entry is not None:
                    entry.lease_until_ms = now_ms + lease_ms
                    self._index(task_id, entry)
                    held.add(task_id)
        return held

    async def finish(self, outcomes: Sequence[Outcome], now_ms: int) -> list[bool]:
        """Apply each fenced outcome."""
        results: list[bool] = []
        earliest: int | None = None
        with self._lock:
            for outcome in outcomes:
                entry = self._held(outcome.id, outcome.token)
                if entry is None:
                    results.append(False)
                    continue
                if isinstance(outcome, Delete):
                    del self._tasks[outcome.id]
                elif isinstance(outcome, Fail):
                    del self._tasks[outcome.id]
                    self._failed[outcome.id] = outcome.record
                else:
                    if isinstance(outcome, Reschedule):
                        entry.due_ms, entry.attempts = outcome.due_ms, outcome.attempts
                        entry.data = outcome.data
                    else:
                        assert isinstance(outcome, Release)
                    entry.lease_until_ms = entry.owner = entry.token = None
                    self._index(outcome.id, entry)
                    earliest = entry.due_ms if earliest is None else min(earliest, entry.due_ms)
                results.append(True)
        if earliest is not None:
            self._notify_local(earliest)
        return results

    async def release_worker(self, worker_id: str) -> int:
        """Free every lease held by ``worker_id``."""
        count = 0
        with self._lock:
            for task_id, entry in self._tasks.items():
                if entry.owner == worker_id and entry.lease_until_ms is not None:
                    entry.lease_until_ms = entry.owner = entry.token = None
                    self._index(task_id, entry)
                    count += 1
        return count

    # -- reads --------------------------------------------------------------------------

    async def next_due_ms(self, queues: Sequence[str] | None = None) -> int | None:
        """Scan when filtering by queue (rare); otherwise read the two heap heads."""
        with self._lock:
            if queues is not None:
                times = [
                    e.due_ms if e.lease_until_ms is None else e.lease_until_ms
                    for e in self._tasks.values()
                    if e.queue in queues
                ]
                return min(times, default=None)
            for heap in (self._free, self._leased):
                while heap and self._valid(heap[0]) is None:
                    heapq.heappop(heap)
            heads = [heap[0][0] for heap in (self._free, self._leased) if heap]
            return min(heads, default=None)

    @staticmethod
    def _stored(task_id: str, entry: _Entry) -> StoredTask:
        return StoredTask(
            task_id,
            entry.queue,
            entry.due_ms,
            entry.attempts,
            entry.data,
            entry.lease_until_ms,
            entry.owner,
        )

    async def get(self, task_id: str) -> StoredTask | None:
        """The task with this id."""
        with self._lock:
            entry = self._tasks.get(task_id)
            return None if entry is None else self._stored(task_id, entry)

    async def get_failed(self, task_id: str, now_ms: int) -> FailedTask | None:
        """The unexpired failed record with this id."""
        with self._lock:
            record = self._failed.get(task_id)
            return record if record is not None and _alive(record, now_ms) else None

    async def list_tasks(
        self, queue: str | None = None, limit: int | None = None
    ) -> list[StoredTask]:
        """Tasks sorted by due time."""
        with self._lock:
            tasks = [
                self._stored(task_id, entry)
                for task_id, entry in self._tasks.items()
                if queue is None or entry.queue == queue
            ]
        tasks.sort(key=lambda t: (t.due_ms, t.id))
        return tasks if limit is None else tasks[:limit]

    async def list_failed(self, now_ms: int, limit: int | None = None) -> list[FailedTask]:
        """Failed records, latest first."""
        with self._lock:
            records = [r for r in self._failed.values() if _alive(r, now_ms)]
        records.sort(key=lambda r: (-r.failed_ms, r.id))
        return records if limit is None else records[:limit]

    async def counts(self, now_ms: int) -> dict[TaskState, int]:
        """Count by state."""
        result: dict[TaskState, int] = {"scheduled": 0, "running": 0, "retrying": 0, "failed": 0}
        with self._lock:
            for entry in self._tasks.values():
                result[_state(entry, now_ms)] += 1
            result["failed"] = sum(1 for r in self._failed.values() if _alive(r, now_ms))
        return result

    # -- management ---------------------------------------------------------------------

    async def cancel(self, task_id: str) -> bool:
        """Remove the task and its failed record."""
        with self._lock:
            found = self._tasks.pop(task_id, None) is not None
            return self._failed.pop(task_id, None) is not None or found

    async def requeue_failed(self, task_id: str, due_ms: int, data: str, now_ms: int) -> bool:
        """Move a failed record back to the schedule."""
        with self._lock:
            record = self._failed.get(task_id)
            if record is None or not _alive(record, now_ms) or task_id in self._tasks:
                return False
            del self._failed[task_id]
            entry = _Entry(record.queue, due_ms, 0, data)
            self._tasks[task_id] = entry
            self._index(task_id, entry)
        self._notify_local(due_ms)
        return True

    async def purge_failed(self, now_ms: int) -> int:
        """Drop expired failed records and progress."""
        with self._lock:
            dead = [k for k, r in self._failed.items() if not _alive(r, now_ms)]
            for key in dead:
                del self._failed[key]
            for key in [k for k, p in self._progress.items() if not _alive(p, now_ms)]:
                del self._progress[key]
        return len(dead)

    async def get_progress(self, ids: Sequence[str], now_ms: int) -> list[ProgressRecord]:
        """Unexpired progress among ``ids``."""
        with self._lock:
            found = (self._progress.get(i) for i in ids)
            return [p for p in found if p is not None and _alive(p, now_ms)]

    async def truncate(self) -> None:
        """Forget everything."""
        with self._lock:
            self._tasks.clear()
            self._free.clear()
            self._leased.clear()
            self._failed.clear()
            self._progress.clear()


def _alive(record: FailedTask | ProgressRecord, now_ms: int) -> bool:
    return record.expires_ms is None or record.expires_ms > now_ms


def _state(entry: _Entry, now_ms: int) -> TaskState:
    if entry.lease_until_ms is not None and entry.lease_until_ms > now_ms:
        return "running"
    return "retrying" if entry.attempts > 0 else "scheduled"
