"""W4: ``due`` jobs due now beside a backlog of tasks scheduled an hour ahead; the time
from the first to the last of the due jobs finishing, per backlog size."""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench import common
from bench.engines.base import Engine, stop_worker
from bench.workloads import Params, na, val


def key(backlog: int) -> str:
    return f"W4 run due jobs, backlog {backlog:,} (ms)"


#: runs of the due jobs per backlog (the median is reported): one run of ~250 ms moved by
#: ±20% on this shared machine
REPEATS = 3

SLOW = "W4 slowdown, largest backlog measured vs none (%)"


def run(engine: Engine, p: Params) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not engine.has_delay:
        out = {key(b): na("delays need a separate scheduler process") for b in p.backlogs}
        out[SLOW] = na("no backlog")
        return out
    load_rate: float | None = None
    for backlog in p.backlogs:
        if backlog and load_rate is not None and backlog / load_rate > p.max_load:
            out[key(backlog)] = na(f"loading would take ~{backlog / load_rate:.0f} s "
                                   f"({load_rate:,.0f}/s)")
            continue
        engine.reset()
        common.reset_aux()
        load_note = None
        if backlog:
            t = time.perf_counter()
            engine.load("noop", backlog, delay=3600)
            load_s = time.perf_counter() - t
            load_rate = backlog / load_s
            load_note = None  # load time is in the log only
            print(f"# {engine.name}: backlog {backlog:,} loaded in {load_s:.1f} s", flush=True)
        times: list[float] = []
        note = load_note
        for _ in range(REPEATS):
            common.reset_aux()
            engine.load("incr", p.due)
            proc = engine.start_worker(p.log)
            try:
                common.wait_until(lambda: common.counter() >= 1, 60, 0.002)
                t1 = time.perf_counter()
                ok = common.wait_until(lambda: common.counter() >= p.due, p.timeout, 0.002)
                t2 = time.perf_counter()
                done = common.counter()
            finally:
                stop_worker(proc)
            if done < 1:
                break
            times.append((t2 - t1) * 1000)
            if not ok:
                note = f"timed out: {done} of {p.due} done"
                break
        if not times:
            out[key(backlog)] = na("no job ran")
            continue
        out[key(backlog)] = val(statistics.median(times), note)
    first, last = out.get(key(p.backlogs[0])), None
    for b in reversed(p.backlogs):
        if "value" in out.get(key(b), {}):
            last = (b, out[key(b)])
            break
    if first and "value" in first and last and last[0] != p.backlogs[0]:
        slow = (last[1]["value"] / first["value"] - 1) * 100
        out[SLOW] = val(slow)
    else:
        out[SLOW] = na("no large backlog measured")
    return out
