"""W3: with a worker running, schedule jobs 3 s ahead; each records its start minus its
scheduled time; p50/p95/p99/max in ms."""

from __future__ import annotations

import time
from typing import Any

from bench import common
from bench.engines.base import Engine, NotSupported, stop_worker
from bench.workloads import Params, na, val

KEYS = ("p50", "p95", "p99", "max")
DELAY = 3.0


def key(q: str) -> str:
    return f"W3 lateness {q} (ms)"


def run(engine: Engine, p: Params) -> dict[str, Any]:
    if not engine.has_delay:
        return {key(q): na("delays need a separate scheduler process") for q in KEYS}
    engine.reset()
    common.reset_aux()
    proc = engine.start_worker(p.log)
    aux = common.redis_client(common.AUX_DB)
    try:
        engine.enqueue_primary("incr")
        if not common.wait_until(lambda: common.counter() >= 1, 60, 0.01):
            return {key(q): na("worker did not start") for q in KEYS}
        try:
            for _ in range(p.late):
                engine.enqueue_primary("late", DELAY, time.time() + DELAY)
        except NotSupported as exc:
            return {key(q): na(str(exc)) for q in KEYS}
        common.wait_until(lambda: aux.llen(common.LATE) >= p.late, DELAY + 30, 0.05)
        samples = [float(x) * 1000 for x in aux.lrange(common.LATE, 0, -1)]
    finally:
        stop_worker(proc)
    if not samples:
        return {key(q): na("no job ran") for q in KEYS}
    note = None if len(samples) >= p.late else f"only {len(samples)} of {p.late} ran"
    return {
        key("p50"): val(common.percentile(samples, 0.50), note),
        key("p95"): val(common.percentile(samples, 0.95), note),
        key("p99"): val(common.percentile(samples, 0.99), note),
        key("max"): val(max(samples), note),
    }
