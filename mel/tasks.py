"""Inspecting and managing tasks: ``mel.tasks.get / list / cancel / retry / counts``."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mel import clock, config, portal, scheduling
from mel.stores.base import FailedTask, Store, StoredTask, TaskState
from mel.task import TaskData, loads

__all__ = [
    "TaskInfo", "acancel", "acounts", "aget", "alist", "aretry", "cancel", "counts", "get",
    "list", "retry",
]


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task as stored. ``params`` is the stored JSON form; ``schedule`` describes a
    recurring task (None for an instant one); failed tasks carry ``error``/``traceback``."""

    id: str
    job_name: str
    params: dict[str, Any]
    state: TaskState
    next_run: datetime | None
    attempts: int
    queue: str
    schedule: str | None
    error: str | None = None
    traceback: str | None = None
    failed_at: datetime | None = None


def _data(text: str) -> TaskData | None:
    try:
        return loads(text)
    except ValueError:
        return None


def _from_stored(task: StoredTask, now_ms: int) -> TaskInfo:
    data = _data(task.data)
    leased = task.lease_until_ms is not None and task.lease_until_ms > now_ms
    state: TaskState = "running" if leased else "retrying" if task.attempts else "scheduled"
    return TaskInfo(
        task.id,
        data.job if data else "?",
        data.params if data else {},
        state,
        clock.from_ms(task.due_ms),
        task.attempts,
        task.queue,
        data.schedule.describe() if data and data.schedule else None,
    )


def _from_failed(record: FailedTask) -> TaskInfo:
    data = _data(record.data)
    return TaskInfo(
        record.id,
        data.job if data else "?",
        data.params if data else {},
        "failed",
        None,
        record.attempts,
        record.queue,
        data.schedule.describe() if data and data.schedule else None,
        record.error,
        record.traceback,
        clock.from_ms(record.failed_ms),
    )


async def _store() -> Store | None:
    store = config.require_store()
    return None if store is None else await scheduling.ready(store)


async def aget(task_id: str) -> TaskInfo | None:
    """The task with this id (scheduled, running, retrying or failed), or None."""
    store = await _store()
    if store is None:
        return None
    now = clock.now_ms()
    task = await store.get(task_id)
    if task is not None:
        return _from_stored(task, now)
    record = await store.get_failed(task_id, now)
    return None if record is None else _from_failed(record)


async def alist(
    state: TaskState | None = None, job: str | type | None = None, queue: str | None = None,
    limit: int | None = 100,
) -> builtins.list[TaskInfo]:
    """Tasks, earliest due first, then failed ones (latest first), filtered as asked."""
    store = await _store()
    if store is None:
        return []
    now = clock.now_ms()
    name = getattr(job, "__mel_name__", job)
    found: builtins.list[TaskInfo] = []
    if state != "failed":
        found += [_from_stored(t, now) for t in await store.list_tasks(queue=queue)]
    if state in (None, "failed"):
        found += [_from_failed(r) for r in await store.list_failed(now)
                  if queue is None or r.queue == queue]
    found = [t for t in found
             if (state is None or t.state == state) and (name is None or t.job_name == name)]
    return found if limit is None else found[:limit]


async def acancel(task_id: str) -> bool:
    """Remove a scheduled or recurring task (or a failed record); a running one finishes
    this run and is not rescheduled. True if anything was removed."""
    store = await _store()
    return False if store is None else await store.cancel(task_id)


async def aretry(task_id: str) -> bool:
    """Move a failed task back to due now, with its attempts reset."""
    store = await _store()
    if store is None:
        return False
    now = clock.now_ms()
    record = await store.get_failed(task_id, now)
    if record is None:
        return False
    return await store.requeue_failed(task_id, now, record.data, now)


async def acounts() -> dict[str, int]:
    """How many tasks are scheduled, running, retrying and failed."""
    store = await _store()
    if store is None:
        return {"scheduled": 0, "running": 0, "retrying": 0, "failed": 0}
    counted = await store.counts(clock.now_ms())
    return {state: n for state, n in counted.items()}  # noqa: C416 - widens the key type


def get(task_id: str) -> TaskInfo | None:
    """Sync twin of :func:`aget`."""
    return portal.call(aget(task_id))


def list(
    state: TaskState | None = None, job: str | type | None = None, queue: str | None = None,
    limit: int | None = 100,
) -> builtins.list[TaskInfo]:
    """Sync twin of :func:`alist`."""
    return portal.call(alist(state, job, queue, limit))


def cancel(task_id: str) -> bool:
    """Sync twin of :func:`acancel`."""
    return portal.call(acancel(task_id))


def retry(task_id: str) -> bool:
    """Sync twin of :func:`aretry`."""
    return portal.call(aretry(task_id))


def counts() -> dict[str, int]:
    """Sync twin of :func:`acounts`."""
    return portal.call(acounts())
