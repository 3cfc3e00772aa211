"""SAQ's benchmark functions (``saq bench.apps.saq_app.settings``); the queue's URL comes
from BENCH_STORE (Redis or PostgreSQL)."""

from __future__ import annotations

import os
from typing import Any

from saq import Queue

from bench.apps import body
from bench.common import QUEUE_REDIS

queue = Queue.from_url(os.environ.get("BENCH_STORE", QUEUE_REDIS))


async def incr(ctx: dict[str, Any]) -> None:
    await body.aincr()


async def noop(ctx: dict[str, Any]) -> None:
    pass


async def late(ctx: dict[str, Any], *, sched: float) -> None:
    await body.alate(sched)


settings = {"queue": queue, "functions": [incr, noop, late], "concurrency": 10}  # saq default
