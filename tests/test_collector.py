"""The garbage collector's first threshold while workers run (mel.collector)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

import mel.worker
from mel import collector
from mel.stores.memory import MemoryStore


@pytest.fixture(autouse=True)
def _threshold() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_raised_while_in_use_and_restored_after_the_last_user() -> None:
    gc.set_threshold(700, 11, 12)
    with collector.tuned():
        assert gc.get_threshold() == (collector.GEN0, 11, 12)
        with collector.tuned():
            assert gc.get_threshold() == (collector.GEN0, 11, 12)
        assert gc.get_threshold() == (collector.GEN0, 11, 12)  # the outer user still runs
    assert gc.get_threshold() == (700, 11, 12)


def test_a_higher_or_zero_threshold_is_left_alone() -> None:
    for setting in ((50_000, 10, 10), (0, 10, 10)):
        gc.set_threshold(*setting)
        with collector.tuned():
            assert gc.get_threshold() == setting
        assert gc.get_threshold() == setting


def test_a_change_made_meanwhile_is_kept() -> None:
    with collector.tuned():
        gc.set_threshold(2_000, 10, 10)
    assert gc.get_threshold() == (2_000, 10, 10)


def test_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), collector.tuned():
        raise RuntimeError
    assert gc.get_threshold() == (700, 10, 10)


async def test_a_worker_runs_with_the_raised_threshold() -> None:
    worker = mel.worker.Worker(MemoryStore(), mel.worker.WorkerOptions(poll_interval=0.05))
    runner = asyncio.create_task(worker.run())
    await asyncio.wait_for(worker.started.wait(), 5)
    assert gc.get_threshold()[0] == collector.GEN0
    await worker.stop()
    await runner
    assert gc.get_threshold() == (700, 10, 10)
