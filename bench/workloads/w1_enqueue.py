"""W1: n no-op jobs, one call each, one process (sync API where the engine has one, and
async separately); W1b: the same through the bulk API (mel: one transaction)."""

from __future__ import annotations

import time
from typing import Any

from bench.engines.base import Engine, NotSupported
from bench.workloads import Params, na, val

SYNC = "W1 enqueue, one sync call per job (jobs/s)"
ASYNC = "W1 enqueue, one async call per job (jobs/s)"
BULK = "W1b enqueue, bulk API (jobs/s)"


def run(engine: Engine, p: Params) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if engine.has_sync:
        engine.reset()
        t = time.perf_counter()
        for _ in range(p.n):
            engine.enqueue("noop")
        out[SYNC] = val(p.n / (time.perf_counter() - t))
    else:
        out[SYNC] = na("async API only")
    if engine.has_async:
        engine.reset()

        async def go() -> float:
            t = time.perf_counter()
            for _ in range(p.n):
                await engine.aenqueue("noop")
            return time.perf_counter() - t

        out[ASYNC] = val(p.n / engine.run(go()))
    else:
        out[ASYNC] = na("sync API only")
    if engine.has_bulk:
        engine.reset()
        t = time.perf_counter()
        try:
            engine.bulk("noop", p.n)
            out[BULK] = val(p.n / (time.perf_counter() - t))
        except NotSupported as exc:
            out[BULK] = na(str(exc))
    else:
        out[BULK] = na("no bulk enqueue API")
    return out
