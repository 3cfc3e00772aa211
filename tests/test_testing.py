"""The testing helpers and the pytest plugin's ``mel_store`` fixture."""

from __future__ import annotations

import mel
import mel.testing
from mel.stores.memory import MemoryStore
from tests.jobs_for_tests import Record, events


def test_mel_store_fixture_configures_a_fresh_memory_store(mel_store: MemoryStore) -> None:
    assert mel.settings.store is mel_store
    Record(label="p").run_now()
    assert mel.testing.enqueued(Record, label="p")


async def test_run_due_runs_tasks_scheduled_by_tasks(mel_store: MemoryStore) -> None:
    class Chain(mel.Job):
        left: int

        async def run(self) -> None:
            events.append(("chain", self.left))
            if self.left:
                await Chain(left=self.left - 1).arun_now()

    await Chain(left=3).arun_now()
    assert await mel.testing.run_due() == 4
    assert [e[1] for e in events] == [3, 2, 1, 0]
    mel.registry.unregister(Chain.__mel_name__)


def test_truncate(mel_store: MemoryStore) -> None:
    Record(label="a").run_in(60)
    mel.testing.truncate()
    assert mel.tasks.counts()["scheduled"] == 0
