"""W3: with a worker running, schedule jobs 3 s ahead; each records its start minus its
scheduled time; p50/p95/p99/max in ms.

W3 measures how precisely a worker starts a job at its time, not how fast it works off a
burst (that is W2), so two things are held equal for every engine: the jobs are scheduled
at a steady RATE (500 take 0.5 s; an engine slower than that goes at its own pace), and a
burst of WARM jobs runs first, so the body's Redis client has all its connections open
before the first sample (opening 100 connections mid-run costs about 100 ms on this machine,
which would be counted as lateness).
"""

from __future__ import annotations

import time
from typing import Any

from bench import common
from bench.engines.base import Engine, NotSupported, stop_worker
from bench.workloads import Params, na, val

KEYS = ("p50", "p95", "p99", "max")
DELAY = 3.0
RATE = 1000.0  # jobs scheduled per second
WARM = 200


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
        engine.load("incr", WARM)
        if not common.wait_until(lambda: common.counter() >= WARM, 60, 0.01):
            return {key(q): na("worker did not start") for q in KEYS}
        try:
            start = time.perf_counter()
            for i in range(p.late):
                pause = start + i / RATE - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
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
