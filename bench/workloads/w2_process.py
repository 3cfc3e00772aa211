"""W2: n jobs already stored, one worker process started by its own command; jobs/s from
the first finished job to the last, start-up (command to first finished job) apart."""

from __future__ import annotations

import time
from typing import Any

from bench import common
from bench.engines.base import Engine, NotSupported, stop_worker
from bench.workloads import Params, na, val

RATE = "W2 process, body = one Redis INCR (jobs/s)"
START = "W2 worker start-up to first job done (s)"
EMPTY = "W2 process, empty body (jobs/s)"


def measure(engine: Engine, p: Params, n: int, kind: str) -> tuple[float, float, int, float]:
    """(start-up s, processing s, done, timeout-hit) for n stored jobs of ``kind``."""
    engine.reset()
    common.reset_aux()
    engine.load(kind, n)
    if kind == "incr":
        def done() -> int:
            return common.counter()
        interval = 0.005
    else:
        def done() -> int:
            return n - engine.pending()
        interval = 0.02
    t0 = time.perf_counter()
    proc = engine.start_worker(p.log)
    try:
        common.wait_until(lambda: done() >= 1, 60, interval)
        t1 = time.perf_counter()
        finished = common.wait_until(lambda: done() >= n, p.timeout, interval)
        t2 = time.perf_counter()
        count = done()
    finally:
        stop_worker(proc)
    return t1 - t0, t2 - t1, count, 0.0 if finished else 1.0


def run(engine: Engine, p: Params) -> dict[str, Any]:
    out: dict[str, Any] = {}
    startup, seconds, count, timed_out = measure(engine, p, p.n, "incr")
    if count < 1:
        return {RATE: na("no job finished"), START: na("no job finished")}
    note = f"timed out: {count} of {p.n} done in {p.timeout:.0f} s" if timed_out else None
    out[RATE] = val((count - 1) / seconds if seconds > 0 else float("nan"), note)
    out[START] = val(startup)
    try:
        engine.pending()
    except NotSupported:
        pass  # measured for mel only (it needs a count of unfinished tasks)
    else:
        _, seconds, count, timed_out = measure(engine, p, p.n, "noop")
        note = f"timed out: {count} of {p.n} done" if timed_out else None
        out[EMPTY] = val((count - 1) / seconds if seconds > 0 else float("nan"), note)
    return out
