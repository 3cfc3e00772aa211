"""streaq's benchmark tasks (``streaq run bench.apps.streaq_app:worker``)."""

from __future__ import annotations

from streaq import Worker

from bench.apps import body
from bench.common import QUEUE_REDIS

worker = Worker(redis_url=QUEUE_REDIS, concurrency=100)


@worker.task
async def incr() -> None:
    await body.aincr()


@worker.task
async def noop() -> None:
    pass


@worker.task
async def late(sched: float) -> None:
    await body.alate(sched)
