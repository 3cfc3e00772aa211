"""Real worker processes (`mel worker ...`): signals, SIGKILL, several workers at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import mel
from mel.stores.base import Store
from tests.conftest import POSTGRES_DSN, REDIS_URL, SESSION_TAG, open_store
from tests.process_app import Mark

pytestmark = pytest.mark.slow

MEL = str(Path(sys.executable).with_name("mel"))


class Workers:
    """Starts `mel worker tests.process_app` processes and stops every one it started."""

    def __init__(self, url: str, out: Path) -> None:
        self.url, self.out = url, out
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, lease: float = 30.0) -> subprocess.Popen[bytes]:
        env = {**os.environ, "MEL_TEST_OUT": str(self.out), "PYTHONPATH": os.getcwd()}
        log = self.out.with_suffix(f".{len(self.procs)}.log")
        with log.open("wb") as sink:  # a file, not a pipe: a chatty worker never blocks
            proc = subprocess.Popen(
                [MEL, "worker", "tests.process_app", "--store", self.url, "--poll-interval",
                 "0.1", "--lease", str(lease), "--log-level", "warning", *args],
                env=env, stdout=sink, stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)

    def lines(self) -> list[tuple[str, ...]]:
        if not self.out.exists():
            return []
        return [tuple(line.split()) for line in self.out.read_text().splitlines()]

    async def wait_for(self, predicate: object, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():  # type: ignore[operator]
                return
            for n, proc in enumerate(self.procs):
                if proc.poll() not in (None, 0, -9):
                    out = self.out.with_suffix(f".{n}.log").read_text()
                    pytest.fail(f"worker exited with {proc.returncode}:\n{out}")
            await asyncio.sleep(0.05)
        pytest.fail(f"timed out; lines so far: {self.lines()[-10:]}")


@pytest.fixture(params=["sqlite", "redis", "postgres"])
async def proc_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Store, str]]:
    kind = request.param
    store = await open_store(kind, tmp_path)
    ns = f"meltest{SESSION_TAG}"
    url = {
        "sqlite": f"sqlite:///{tmp_path / 'mel.db'}",
        "redis": f"{REDIS_URL}?namespace={ns}",
        "postgres": f"{POSTGRES_DSN}?namespace={ns}",
    }[kind]
    mel.configure(store=store, timezone="UTC")
    try:
        yield store, url
    finally:
        await store.truncate()
        await store.close()


@pytest.fixture
def workers(proc_store: tuple[Store, str], tmp_path: Path) -> Iterator[Workers]:
    w = Workers(proc_store[1], tmp_path / f"out-{uuid.uuid4().hex[:6]}.txt")
    try:
        yield w
    finally:
        w.stop_all()


def started(w: Workers, key: str) -> bool:
    return any(line[:2] == ("start", key) for line in w.lines())


async def test_sigterm_finishes_running_tasks_and_exits_0(
    proc_store: tuple[Store, str], workers: Workers
) -> None:
    store, _ = proc_store
    task_id = await Mark(key="t", seconds=1.0).arun_now()
    proc = workers.start()
    await workers.wait_for(lambda: started(workers, "t"))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert [line[:2] for line in workers.lines()] == [("start", "t"), ("end", "t")]
    assert task_id is not None and await store.get(task_id) is None


async def test_second_signal_hands_unfinished_tasks_back(
    proc_store: tuple[Store, str], workers: Workers
) -> None:
    store, _ = proc_store
    task_id = await Mark(key="long", seconds=60).arun_now()
    proc = workers.start()
    await workers.wait_for(lambda: started(workers, "long"))
    proc.send_signal(signal.SIGINT)
    await asyncio.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(15) == 0
    assert task_id is not None
    task = await store.get(task_id)
    assert task is not None and task.lease_until_ms is None  # free for another worker now


async def test_sigkill_loses_nothing(proc_store: tuple[Store, str], workers: Workers) -> None:
    store, _ = proc_store
    await Mark(key="k", seconds=30).arun_now()
    victim = workers.start(lease=1.0)
    await workers.wait_for(lambda: started(workers, "k"))
    victim.kill()
    victim.wait(10)
    workers.start(lease=1.0)  # a different worker: takes the task once the lease lapses
    await workers.wait_for(lambda: sum(ln[:2] == ("start", "k") for ln in workers.lines()) == 2)
    starts = [line for line in workers.lines() if line[0] == "start"]
    assert starts[0][2] != starts[1][2]


async def test_restarted_worker_id_takes_its_tasks_back_at_once(
    proc_store: tuple[Store, str], workers: Workers
) -> None:
    await Mark(key="w", seconds=0.5).arun_now()
    victim = workers.start("--worker-id", "fixed-1", lease=300)
    await workers.wait_for(lambda: started(workers, "w"))
    victim.kill()
    victim.wait(10)
    began = time.monotonic()
    workers.start("--worker-id", "fixed-1", lease=300)
    await workers.wait_for(lambda: ("end", "w") in {ln[:2] for ln in workers.lines()}, 15)
    assert time.monotonic() - began < 15  # far sooner than the 300 s lease


async def test_four_workers_run_each_task_exactly_once(
    proc_store: tuple[Store, str], workers: Workers
) -> None:
    store, _ = proc_store
    n = 5000
    async with mel.atransaction() as tx:
        for i in range(n):
            await Mark(key=f"k{i}").arun_now(tx=tx)
    for _ in range(4):
        workers.start("--batch-size", "-20")
    await workers.wait_for(lambda: sum(1 for line in workers.lines() if line[0] == "end") >= n,
                     timeout=120)
    await asyncio.sleep(0.3)
    ends = Counter(line[1] for line in workers.lines() if line[0] == "end")
    assert len(ends) == n and set(ends.values()) == {1}
    pids = {line[2] for line in workers.lines()}
    assert len(pids) >= 2  # the work was shared
    for _ in range(50):
        if await store.next_due_ms() is None:
            break
        await asyncio.sleep(0.1)
    assert await store.next_due_ms() is None


async def test_an_idle_worker_wakes_for_a_new_task(
    proc_store: tuple[Store, str], workers: Workers
) -> None:
    store, _ = proc_store
    # SQLite has no cross-process notifications: there the worker's polling must find it.
    poll = "30" if store.cross_process_wakeups else "0.5"
    proc = workers.start("--poll-interval", poll)
    await asyncio.sleep(1.5)  # let it go idle: its next look at the store is 30 s away
    assert proc.poll() is None
    scheduled = time.time()
    await Mark(key="wake").arun_now()
    await workers.wait_for(lambda: started(workers, "wake"), timeout=10)
    (line,) = [ln for ln in workers.lines() if ln[:2] == ("start", "wake")]
    # The benchmark measures the latency (target: under 10 ms); here we prove the wake-up.
    assert float(line[3]) - scheduled < 2.0
