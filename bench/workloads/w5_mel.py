"""W5: Mel's own benchmark, ported: sequential schedule of N no-op jobs (retries=0), bulk
schedule of N in one transaction, run N with batch_size=10000 in one worker process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.engines.base import Engine
from bench.workloads import Params, na, val

SEQ = "W5 sequential schedule {n:,} (s)"
BULK = "W5 bulk schedule {n:,}, one transaction (s)"
RUN = "W5 run {n:,}, batch_size=10000 (s)"


def keys(n: int) -> list[str]:
    return [k.format(n=n) for k in (SEQ, BULK, RUN)]


def run(engine: Engine, p: Params) -> dict[str, Any]:
    if engine.name != "mel":
        return {k: na("mel's own benchmark") for k in keys(p.w5)}
    import mel
    import mel.worker
    from bench.apps.mel_app import Noop

    n = p.w5
    engine.reset()
    t = time.perf_counter()
    for _ in range(n):
        Noop().run_now(retries=0)
    seq = time.perf_counter() - t
    engine.reset()
    t = time.perf_counter()
    with mel.transaction() as tx:
        for _ in range(n):
            Noop().run_now(retries=0, tx=tx)
    bulk = time.perf_counter() - t

    async def work() -> float:
        store = mel.settings.store
        assert store is not None
        worker = mel.worker.Worker(store, mel.worker.options_from_settings(batch_size=10_000))
        t0 = time.perf_counter()
        runner = asyncio.create_task(worker.run())
        while worker.ran < n and not runner.done():
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - t0
        await worker.stop()
        await runner
        await store.close()
        return elapsed

    ran = asyncio.run(work())
    engine.loop.run_until_complete(engine.aopen())
    return {keys(n)[0]: val(seq), keys(n)[1]: val(bulk), keys(n)[2]: val(ran)}
