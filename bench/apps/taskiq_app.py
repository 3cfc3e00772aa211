"""taskiq's benchmark tasks (``taskiq worker bench.apps.taskiq_app:broker``)."""

from __future__ import annotations

from taskiq_redis import RedisStreamBroker

from bench.apps import body
from bench.common import QUEUE_REDIS

broker = RedisStreamBroker(QUEUE_REDIS)


@broker.task
async def incr() -> None:
    await body.aincr()


@broker.task
async def noop() -> None:
    pass


@broker.task
async def late(sched: float) -> None:
    await body.alate(sched)
