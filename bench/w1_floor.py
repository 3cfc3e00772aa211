"""Where a sync ``run_now`` on Redis spends its time, beside huey's enqueue, in one run (for
whoever optimises mel; not part of ``python -m bench``).

    .venv/bin/python -m bench.w1_floor [N] [ROUNDS]     # default 20,000 calls, 3 rounds

Each round times, one after another: a bare ``INCR`` round trip on the store's own
connection; the commands of a one-task fresh write, prebuilt, sent and answered; the same
commands built per call with a new id; ``Noop().run_now()``; then huey's ``noop()`` from
its own virtual environment. The first two bound what any Python enqueue into mel's layout
can reach; the gap between them and ``run_now`` is mel's own Python.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import mel
import mel.testing
from bench import common, venvs
from bench.apps.mel_app import Noop
from mel import clock
from mel.scheduling import new_id
from mel.stores.base import NewTask, WriteBatch
from mel.stores.redis import RedisStore

DATA = '{"j":"bench.Noop","p":{}}'

HUEY = """
import os, sys, time
os.environ["BENCH_STORE"] = sys.argv[1]
import bench.apps.huey_app as app
app.noop()
n = int(sys.argv[2])
t = time.perf_counter()
for _ in range(n):
    app.noop()
print(n / (time.perf_counter() - t))
app.huey.flush()
"""


def rates(store: RedisStore, n: int) -> dict[str, float]:
    def fresh_write() -> tuple[bytes, int]:
        """The packed commands of a one-task fresh write, as run_now sends them."""
        task = NewTask(new_id(), "default", clock.now_ms(), DATA, fresh=True)
        commands = store._fresh_commands(WriteBatch([task]))
        assert commands is not None
        return commands[:2]

    def incr() -> None:
        for _ in range(n):
            store._sync.call("INCR", "{bench}:floor")

    built: list[tuple[bytes, int]] = []

    def prebuilt() -> None:
        for packed, count in built:
            store._sync.pipeline(packed, count)

    def per_call() -> None:
        for _ in range(n):
            store._sync.pipeline(*fresh_write())

    def run_now() -> None:
        for _ in range(n):
            Noop().run_now()

    out: dict[str, float] = {}
    steps: list[tuple[str, Callable[[], None]]] = [
        ("INCR", incr), ("fresh write's commands, prebuilt", prebuilt),
        ("the same, built per call", per_call), ("run_now", run_now)]
    for name, step in steps:
        mel.testing.truncate()
        if step is prebuilt:
            built[:] = [fresh_write() for _ in range(n)]
        t = time.perf_counter()
        step()
        out[name] = n / (time.perf_counter() - t)
    mel.testing.truncate()
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    common.flush_queue_db()
    mel.configure(store=common.QUEUE_REDIS + "?namespace=bench")
    Noop().run_now()  # opens the store
    store = mel.settings.store
    assert isinstance(store, RedisStore)
    huey = venvs.ensure("huey")
    for r in range(rounds):
        row = rates(store, n)
        done = subprocess.run([str(huey), "-c", HUEY, common.QUEUE_REDIS, str(n)],
                              cwd=common.ROOT, env={"PYTHONPATH": str(common.ROOT)},
                              capture_output=True, text=True, check=True)
        row["huey"] = float(done.stdout.strip().splitlines()[-1])
        common.flush_queue_db()
        print(f"round {r + 1}: " + "  ".join(f"{k} {v:,.0f}/s" for k, v in row.items())
              + f"  (run_now/huey {row['run_now'] / row['huey']:.2f}x)", flush=True)


if __name__ == "__main__":
    main()
