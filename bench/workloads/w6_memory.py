"""W6: Redis memory per scheduled (delayed) no-op task: the sum of ``MEMORY USAGE`` over
every key of the queue database, divided by the number of tasks."""

from __future__ import annotations

from typing import Any

from bench import common
from bench.engines.base import Engine
from bench.workloads import Params, na, val

KEY = "W6 Redis bytes per scheduled task"


def used(client: Any) -> int:
    total = 0
    for k in client.scan_iter(count=1000):
        total += client.memory_usage(k, samples=0) or 0
    return total


def run(engine: Engine, p: Params) -> dict[str, Any]:
    if engine.backend != "redis":
        return {}
    if not engine.has_delay:
        return {KEY: na("delayed tasks live in the scheduler's source, not measured")}
    engine.reset()
    client = common.redis_client(common.QUEUE_DB)
    before = used(client)
    engine.load("noop", p.n, delay=3600)
    after = used(client)
    note = "celery: delayed tasks sit in the queue, then in worker memory" \
        if engine.name == "celery" else None
    return {KEY: val((after - before) / p.n, note)}
