"""Profiles of mel's hot paths, for whoever optimises mel (not part of ``python -m bench``).

    .venv/bin/python -m bench.profile_mel w1   # cProfile of N sync run_now calls
    .venv/bin/python -m bench.profile_mel w5   # cProfile of the in-process W5 run phase
    .venv/bin/python -m bench.profile_mel w1b  # cProfile of one N-task transaction

W2's worker is a separate process: profile it with
``py-spy record -o w2.svg -- .venv/bin/mel worker bench.apps.mel_app --store URL``.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import time

import mel
import mel.testing
import mel.worker
from bench import common
from bench.apps.mel_app import Noop

URL = common.QUEUE_REDIS + "?namespace=profile"


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "w1"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    common.flush_queue_db()
    mel.configure(store=URL)
    Noop().run_now()  # open the store and warm up
    mel.testing.truncate()
    prof = cProfile.Profile()
    t = time.perf_counter()
    if what == "w1":
        prof.enable()
        for _ in range(n):
            Noop().run_now()
        prof.disable()
    elif what == "w1b":
        prof.enable()
        with mel.transaction() as tx:
            for _ in range(n):
                Noop().run_now(retries=0, tx=tx)
        prof.disable()
    elif what == "w5":
        with mel.transaction() as tx:
            for _ in range(n):
                Noop().run_now(retries=0, tx=tx)

        async def work() -> None:
            store = mel.settings.store
            assert store is not None
            worker = mel.worker.Worker(store,
                                       mel.worker.options_from_settings(batch_size=10_000))
            runner = asyncio.create_task(worker.run())
            while worker.ran < n:
                await asyncio.sleep(0.005)
            await worker.stop()
            await runner
            await store.close()

        t = time.perf_counter()
        prof.enable()
        asyncio.run(work())
        prof.disable()
    elapsed = time.perf_counter() - t
    print(f"{what}: {n} in {elapsed:.2f} s = {n / elapsed:,.0f}/s (under cProfile)")
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)
    common.flush_queue_db()


if __name__ == "__main__":
    main()
