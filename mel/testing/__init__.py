"""Helpers for testing apps that use Mel: empty the store, run due tasks, look for tasks."""

from __future__ import annotations

from typing import Any

from mel import config, portal, scheduling
from mel.job import BaseJob
from mel.stores.base import Store
from mel.task import loads
from mel.worker import Worker, options_from_settings

__all__ = ["arun_due", "atruncate", "enqueued", "run_due", "truncate"]


async def _store() -> Store | None:
    store = config.require_store()
    return None if store is None else await scheduling.ready(store)


async def atruncate() -> None:
    """Drop every task, failed record and progress of the configured store."""
    store = await _store()
    if store is not None:
        await store.truncate()


def truncate() -> None:
    """Sync twin of :func:`atruncate`."""
    portal.call(atruncate())


async def run_due(until_idle: bool = True) -> int:
    """Run due tasks in this process (on this loop) and return how many ran.

    With ``until_idle`` it keeps going until no task is due, including retries and tasks
    that the tasks themselves scheduled for now; otherwise it runs one batch.
    """
    store = await _store()
    if store is None:
        return 0
    return await Worker(store, options_from_settings(batch_size=-1)).run_due(until_idle)


arun_due = run_due


def enqueued(job: type[BaseJob], **params: Any) -> bool:
    """True if a task of ``job`` whose stored parameters include ``params`` is scheduled."""
    return portal.call(aenqueued(job, **params))


async def aenqueued(job: type[BaseJob], **params: Any) -> bool:
    """Async twin of :func:`enqueued`."""
    store = await _store()
    if store is None:
        return False
    wanted = job.__mel_codec__.encode_partial(params) if params else {}
    for task in await store.list_tasks():
        try:
            data = loads(task.data)
        except ValueError:
            continue
        if data.job == job.__mel_name__ and all(
            data.params.get(k) == v for k, v in wanted.items()
        ):
            return True
    return False
