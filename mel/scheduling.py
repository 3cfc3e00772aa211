"""Turning a scheduling call into a stored task, sync or async.

The templates in :mod:`mel.jobs` resolve *when* (a due time and maybe a schedule); this
module checks the options, builds the task and writes it, alone or into a transaction.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, NamedTuple, TypedDict

from mel import callbacks, clock, config, portal, schedule
from mel.stores.base import NewTask, Store, WriteBatch
from mel.task import Retries, dumps, normalize_retries

if TYPE_CHECKING:
    from mel.job import BaseJob
    from mel.transaction import Transaction


class When(NamedTuple):
    """When a task runs first, and its recurring schedule if it has one."""

    due_ms: int
    schedule: schedule.Schedule | None = None


def now() -> When:
    """Due now."""
    return When(clock.now_ms())


def after(delay: float | timedelta) -> When:
    """Due after ``delay`` (may be negative, which puts the task ahead of others)."""
    return When(clock.now_ms() + clock.duration_ms(delay, "delay"))


def _datetime_ms(value: datetime, name: str) -> int:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {value!r}")
    return clock.to_ms(value, config.current.timezone)


def at(when: datetime) -> When:
    """Due at ``when`` (naive: in ``settings.timezone``; may be in the past)."""
    return When(_datetime_ms(when, "when"))


def _until(until: datetime | timedelta | None) -> tuple[int | None, int | None]:
    if until is None:
        return None, None
    if isinstance(until, timedelta):
        return None, round(until.total_seconds() * 1000)
    return _datetime_ms(until, "until"), None


class _Window(TypedDict):
    now_ms: int
    start_ms: int | None
    until_ms: int | None
    until_delta_ms: int | None


def _window(start: datetime | None, until: datetime | timedelta | None) -> _Window:
    """``now``, ``start`` and ``until`` in the form both schedule kinds take."""
    until_ms, until_delta_ms = _until(until)
    return {
        "now_ms": clock.now_ms(),
        "start_ms": None if start is None else _datetime_ms(start, "start"),
        "until_ms": until_ms,
        "until_delta_ms": until_delta_ms,
    }


def every(
    interval: float | timedelta, start: datetime | None, until: datetime | timedelta | None
) -> When:
    """Every ``interval``, anchored to the first run."""
    sched, first = schedule.every(
        clock.duration_ms(interval, "interval"), **_window(start, until)
    )
    return When(first, sched)


def on(
    expr: str,
    start: datetime | None,
    until: datetime | timedelta | None,
    tz: str | tzinfo | None,
) -> When:
    """On a cron schedule, evaluated in ``tz`` (default ``settings.timezone``)."""
    if not isinstance(expr, str):
        raise TypeError(f"a cron expression must be a string, got {expr!r}")
    zone = config.current.timezone if tz is None else clock.zone(tz)
    sched, first = schedule.cron(expr, tz=zone, **_window(start, until))
    return When(first, sched)


def build(
    job: BaseJob,
    when: When,
    *,
    id: str | None,
    retries: Retries,
    force: bool,
    queue: str,
) -> NewTask:
    """Check the options and build the task to store; every error here is the caller's."""
    if id is not None and (not isinstance(id, str) or not id):
        raise TypeError(f"id must be a non-empty string or None, got {id!r}")
    if not isinstance(queue, str) or not queue:
        raise TypeError(f"queue must be a non-empty string, got {queue!r}")
    if not isinstance(force, bool):
        raise TypeError(f"force must be a bool, got {force!r}")
    codec = job.__mel_codec__
    data = dumps(
        job.__mel_name__,
        codec.encode(job._mel_params()) if codec.field_names else {},
        normalize_retries(retries),
        when.schedule,
        when.due_ms if when.schedule is not None else None,
    )
    if id is None:
        return NewTask(new_id(), queue, when.due_ms, data, force, True)
    return NewTask(id, queue, when.due_ms, data, force)


def new_id() -> str:
    """A default task id: a UUIDv7 (RFC 9562) as 32 lowercase hex digits.

    Its first 48 bits are the Unix time in ms, the rest version, variant and 74 random bits.
    Tasks made together get neighbouring ids, so the B-tree primary keys of the SQLite and
    PostgreSQL stores touch a few index pages per batch rather than one page per task: with
    random ids (UUID4), claiming and finishing 2,000 tasks beside 1,000,000 others took 2.5x
    as long as beside none; with these it takes the same time.
    """
    rand = bytearray(os.urandom(10))
    rand[0] = 0x70 | rand[0] & 0x0F  # version 7, then 12 random bits
    rand[2] = 0x80 | rand[2] & 0x3F  # variant 0b10, then 62 random bits
    return ((time.time_ns() // 1_000_000).to_bytes(6, "big") + rand).hex()


_opened: weakref.WeakSet[Store] = weakref.WeakSet()


async def ready(store: Store) -> Store:
    """Open a store once (stores keep per-loop connections themselves)."""
    if store not in _opened:
        await store.open()
        _opened.add(store)
    return store


async def awrite(store: Store, batch: WriteBatch) -> list[bool]:
    """Write a batch to an opened store."""
    await ready(store)
    return await store.write(batch, clock.now_ms())


def write(store: Store, batch: WriteBatch) -> list[bool]:
    """Write a batch from sync code: the store's blocking path, opened once via the portal."""
    if store not in _opened:
        portal.call(ready(store))
    return store.write_sync(batch, clock.now_ms())


def _extra(job: BaseJob, task: NewTask) -> dict[str, str]:
    return {"task_id": task.id, "job": job.__mel_name__}


def _enqueue_start(job: BaseJob, task: NewTask, tx: Transaction | None) -> Store | None:
    """Before the write: find the store (None: disabled) and call ``before_enqueue``."""
    store = tx.store if tx is not None else config.require_store()
    if store is not None and "before_enqueue" in job.__mel_hooks__:
        callbacks.call(job.before_enqueue, what="before_enqueue", extra=_extra(job, task))
    if tx is not None:
        tx.add(task, job)
        return None
    return store


def _enqueue_end(job: BaseJob, task: NewTask, stored: bool) -> str | None:
    if "after_enqueue" in job.__mel_hooks__:
        callbacks.call(job.after_enqueue, stored, what="after_enqueue",
                       extra=_extra(job, task))
    return task.id if stored else None


def enqueue(
    job: BaseJob, when: When, *, id: str | None, retries: Retries, tx: Transaction | None,
    force: bool, queue: str,
) -> str | None:
    """Store one task from sync code; the id, or None (duplicate, or storage disabled)."""
    task = build(job, when, id=id, retries=retries, force=force, queue=queue)
    store = _enqueue_start(job, task, tx)
    if store is None:
        return task.id if tx is not None and tx.store is not None else None
    try:
        (stored,) = write(store, WriteBatch([task]))
    except BaseException:
        _enqueue_end(job, task, False)
        raise
    return _enqueue_end(job, task, stored)


async def aenqueue(
    job: BaseJob, when: When, *, id: str | None, retries: Retries, tx: Transaction | None,
    force: bool, queue: str,
) -> str | None:
    """Store one task from async code; the id, or None (duplicate, or storage disabled)."""
    task = build(job, when, id=id, retries=retries, force=force, queue=queue)
    store = _enqueue_start(job, task, tx)
    if store is None:
        return task.id if tx is not None and tx.store is not None else None
    try:
        (stored,) = await awrite(store, WriteBatch([task]))
    except BaseException:
        _enqueue_end(job, task, False)
        raise
    return _enqueue_end(job, task, stored)


def finish_batch(jobs: Sequence[tuple[int, BaseJob, NewTask]], results: Sequence[bool] | None
                 ) -> None:
    """Call ``after_enqueue`` for a committed (or failed: None) batch; ``jobs`` holds each
    job with its task's index in the batch."""
    for index, job, task in jobs:
        _enqueue_end(job, task, results is not None and results[index])
