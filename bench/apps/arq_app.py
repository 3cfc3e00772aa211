"""arq's benchmark functions (``arq bench.apps.arq_app.WorkerSettings``)."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings

from bench.apps import body
from bench.common import QUEUE_DB, REDIS_HOST, REDIS_PORT

REDIS = RedisSettings(host=REDIS_HOST, port=REDIS_PORT, database=QUEUE_DB)


async def incr(ctx: dict[str, Any]) -> None:
    await body.aincr()


async def noop(ctx: dict[str, Any]) -> None:
    pass


async def late(ctx: dict[str, Any], sched: float) -> None:
    await body.alate(sched)


class WorkerSettings:
    functions = [incr, noop, late]
    redis_settings = REDIS
    max_jobs = 100
    keep_result = 0
