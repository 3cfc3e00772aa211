"""Running tasks through the public API, on every store."""

from __future__ import annotations

import asyncio
import enum
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

import mel
import mel.testing
from mel.stores.base import NewTask, Store, WriteBatch
from tests.conftest import FakeClock
from tests.jobs_for_tests import (
    BrokenCallbacks,
    Callbacks,
    Color,
    Failing,
    Point,
    Record,
    Slow,
    SyncRecord,
    Typed,
    events,
)


def errors_seen() -> list[BaseException]:
    seen: list[BaseException] = []
    mel.configure(error_handler=seen.append)
    return seen


async def test_runs_async_and_sync_jobs(api_store: Store) -> None:
    await Record(label="a", n=1).arun_now()
    await SyncRecord(label="b").arun_now()
    assert await mel.testing.run_due() == 2
    assert ("run", "a", 1) in events
    (sync_event,) = [e for e in events if e[0] == "sync-run"]
    assert sync_event[1] == "b" and sync_event[2].startswith("mel-job")
    assert await api_store.list_tasks() == []


async def test_every_parameter_type_round_trips(api_store: Store) -> None:
    values = dict(
        s="é", i=-3, f=1.5, b=True, none=None, li=[1, 2], tu=("x", 2), d={"k": [0.5]},
        st={"a", "b"}, opt=None, union=datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        when=datetime(2030, 1, 1, 12, 0), day=date(2030, 2, 3), span=timedelta(seconds=90.5),
        uid=UUID("12345678123456781234567812345678"), dec=Decimal("1.10"), color=Color.BLUE,
        point=Point(1, 2.5), progress=mel.Progress("p1", "Import"), items=[Point(3, 4.0)],
    )
    await Typed(**values).arun_now()  # type: ignore[arg-type]
    await mel.testing.run_due()
    ((_, got),) = [e for e in events if e[0] == "typed"]
    assert got == values
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in values.items()}
    assert isinstance(got["color"], enum.Enum)


async def test_retries_back_off_then_succeed(api_store: Store, fake_clock: FakeClock) -> None:
    task_id = await Failing(label="f", times=2).arun_now(retries=[1, 5, 5])
    assert task_id is not None
    await mel.testing.run_due()
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.state == "retrying" and info.attempts == 1
    assert info.next_run == mel.clock.from_ms(fake_clock.ms + 1000)
    assert await mel.testing.run_due() == 0  # not due yet
    fake_clock.advance(1)
    await mel.testing.run_due()
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.attempts == 2
    assert info.next_run == mel.clock.from_ms(fake_clock.ms + 5000)
    fake_clock.advance(5)
    await mel.testing.run_due()
    assert await mel.tasks.aget(task_id) is None
    assert [e for e in events if e[0] == "after_run"] == [("after_run", "f", True)]


async def test_default_backoffs(api_store: Store, fake_clock: FakeClock) -> None:
    task_id = await Failing(label="d").arun_now()
    assert task_id is not None
    seen = errors_seen()
    for backoff in (2, 4, 8, 16):
        await mel.testing.run_due()
        info = await mel.tasks.aget(task_id)
        assert info is not None and info.next_run == mel.clock.from_ms(fake_clock.ms + backoff
                                                                       * 1000)
        fake_clock.advance(backoff)
    assert seen == []
    await mel.testing.run_due()
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.state == "failed" and info.attempts == 4
    assert len(seen) == 1 and "failure 5 of d" in str(seen[0])
    assert [e for e in events if e[0] == "after_run"] == [("after_run", "d", False)]


async def test_final_failure_goes_to_failed_set_and_can_be_retried(
    api_store: Store, fake_clock: FakeClock
) -> None:
    task_id = await Failing(label="x", times=1).arun_now(retries=0)
    assert task_id is not None
    await mel.testing.run_due()
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.state == "failed"
    assert info.error == "RuntimeError: failure 1 of x"
    assert info.traceback is not None and "failure 1 of x" in info.traceback
    assert info.failed_at == mel.clock.from_ms(fake_clock.ms)
    assert (await mel.tasks.acounts())["failed"] == 1
    assert [t.id for t in await mel.tasks.alist(state="failed")] == [task_id]
    assert await mel.tasks.aretry(task_id) is True
    assert await mel.tasks.aretry(task_id) is False
    await mel.testing.run_due()
    assert await mel.tasks.aget(task_id) is None
    assert events[-1] == ("after_run", "x", True)


async def test_failed_records_expire(api_store: Store, fake_clock: FakeClock) -> None:
    mel.configure(failed_ttl=timedelta(hours=1))
    task_id = await Failing(label="e").arun_now(retries=0)
    await mel.testing.run_due()
    assert task_id is not None and await mel.tasks.aget(task_id) is not None
    fake_clock.advance(3600)
    assert await mel.tasks.aget(task_id) is None


async def test_recurring_task_moves_along_its_grid(api_store: Store, fake_clock: FakeClock
                                                   ) -> None:
    start = mel.clock.from_ms(fake_clock.ms)
    task_id = await Record(label="r").arun_every(60, start=start)
    assert task_id is not None
    await mel.testing.run_due()
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.next_run == start + timedelta(seconds=60)
    assert info.schedule is not None and "every" in info.schedule
    # ten minutes of downtime: the missed runs collapse into one, then the grid goes on
    fake_clock.advance(600 + 15)
    assert await mel.testing.run_due() == 1
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.next_run == start + timedelta(seconds=660)


async def test_recurring_until_is_inclusive_then_ends(api_store: Store, fake_clock: FakeClock
                                                      ) -> None:
    start = mel.clock.from_ms(fake_clock.ms)
    task_id = await Record(label="u").arun_every(30, start=start, until=timedelta(seconds=60))
    assert task_id is not None
    for _ in range(3):
        assert await mel.testing.run_due() == 1
        fake_clock.advance(30)
    assert await mel.tasks.aget(task_id) is None
    assert [e for e in events if e[0] == "run"] == [("run", "u", 0)] * 3


async def test_cron_task_reschedules(api_store: Store, fake_clock: FakeClock) -> None:
    task_id = await Record(label="c").arun_on("*/15 * * * *", tz="UTC")
    assert task_id is not None
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.next_run == datetime(2027, 1, 15, 8, 15, tzinfo=UTC)
    fake_clock.advance(15 * 60)
    await mel.testing.run_due()
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.next_run == datetime(2027, 1, 15, 8, 30, tzinfo=UTC)


async def test_recurring_retry_never_passes_next_run(api_store: Store, fake_clock: FakeClock
                                                     ) -> None:
    seen = errors_seen()
    start = mel.clock.from_ms(fake_clock.ms)
    task_id = await Failing(label="rr").arun_every(3, start=start, retries=[2, 2])
    assert task_id is not None
    await mel.testing.run_due()  # fails; retry at +2s is before the next run at +3s
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.state == "retrying" and info.attempts == 1
    fake_clock.advance(2)
    await mel.testing.run_due()  # fails; a retry at +4s would pass +3s: the occurrence fails
    info = await mel.tasks.aget(task_id)
    assert info is not None and info.attempts == 0
    assert info.next_run == start + timedelta(seconds=3)
    assert len(seen) == 1
    assert [e for e in events if e[0] == "after_run"] == [("after_run", "rr", False)]


async def test_callbacks_run_in_order(api_store: Store) -> None:
    await Callbacks(label="ok").arun_now(retries=0)
    await mel.testing.run_due()
    await Callbacks(label="bad", fail=True).arun_now(retries=0)
    await mel.testing.run_due()
    assert events == [
        ("before_enqueue", "ok"), ("after_enqueue", "ok", True), ("before_run", "ok"),
        ("run", "ok"), ("after_run", "ok", True), ("before_dequeue", "ok"),
        ("after_dequeue", "ok", True),
        ("before_enqueue", "bad"), ("after_enqueue", "bad", True), ("before_run", "bad"),
        ("run", "bad"), ("after_run", "bad", False), ("before_dequeue", "bad"),
        ("after_dequeue", "bad", True),
    ]


async def test_broken_callbacks_cancel_nothing(api_store: Store) -> None:
    seen = errors_seen()
    task_id = await BrokenCallbacks(label="b").arun_now()
    assert task_id is not None
    assert await mel.testing.run_due() == 1
    assert ("run", "b") in events
    assert await mel.tasks.aget(task_id) is None
    assert sorted(str(e) for e in seen) == sorted([
        "before_enqueue broke", "after_enqueue broke", "before_run broke", "after_run broke",
    ])


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ('{"j": "no.such.Job", "p": {}}', "no job class named 'no.such.Job'"),
        ("{not json", "not valid JSON"),
        ('{"j": "tests.jobs_for_tests.Record", "p": {"label": 5}}', "label"),
        ('{"j": "tests.jobs_for_tests.Record", "p": {}}', "label"),
        ('{"j": "tests.jobs_for_tests.Record", "p": {"label": "x"}, "s": {"kind": "?"}}', ""),
        ("[1, 2]", "not a JSON object"),
    ],
)
async def test_unreadable_tasks_go_to_the_failed_set(
    api_store: Store, data: str, error: str
) -> None:
    now = mel.clock.now_ms()
    await api_store.write(WriteBatch([NewTask("bad", "default", now - 1, data)]), now)
    await Record(label="fine").arun_now()
    assert await mel.testing.run_due() == 2
    assert ("run", "fine", 0) in events
    info = await mel.tasks.aget("bad")
    assert info is not None and info.state == "failed"
    assert info.error is not None and error in info.error


async def test_due_order(api_store: Store, fake_clock: FakeClock) -> None:
    await Record(label="now").arun_now()
    await Record(label="past").arun_at(mel.clock.from_ms(fake_clock.ms - 60_000))
    await Record(label="negative").arun_in(-10)
    await mel.testing.run_due()
    assert [e[1] for e in events] == ["past", "negative", "now"]


async def test_transaction_is_all_or_nothing(api_store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with mel.atransaction() as tx:
            await Callbacks(label="t1").arun_now(tx=tx)
            await mel.Progress("p").amove(50, tx=tx)
            raise RuntimeError("abort")
    assert await api_store.list_tasks() == []
    assert await mel.Progress.atrack("p") is None
    assert ("after_enqueue", "t1", False) in events

    async with mel.atransaction() as tx:
        ids = [await Callbacks(label=f"c{i}").arun_now(tx=tx) for i in range(3)]
        assert all(isinstance(i, str) for i in ids)
        assert await api_store.list_tasks() == []  # nothing before the commit
        await mel.Progress("p").amove(50, tx=tx)
    assert tx.results == [True, True, True]
    assert len(await api_store.list_tasks()) == 3
    report = await mel.Progress.atrack("p")
    assert report is not None and report.value == 50
    assert [e for e in events if e[0] == "after_enqueue"][-3:] == [
        ("after_enqueue", f"c{i}", True) for i in range(3)
    ]


def test_sync_transaction_and_duplicates_resolved_at_commit(memory: Store) -> None:
    Record(label="first").run_now(id="dup")
    with mel.transaction() as tx:
        assert Callbacks(label="second").run_now(id="dup", tx=tx) == "dup"
        assert Callbacks(label="third").run_now(id="new", tx=tx) == "new"
    assert tx.results == [False, True]
    task = asyncio.run(memory.get("dup"))
    assert task is not None and json.loads(task.data)["p"]["label"] == "first"
    assert ("after_enqueue", "second", False) in events
    with pytest.raises(mel.TransactionError):
        Record(label="late").run_now(tx=tx)


async def test_progress(api_store: Store, fake_clock: FakeClock) -> None:
    p = await mel.Progress.astart("job-1", "Importing")
    report = await mel.Progress.atrack("job-1")
    assert report == mel.ProgressReport("job-1", "Importing", 0)
    assert report.pending and report.started and not report.running and not report.ended
    await p.amove(150)
    report = await mel.Progress.atrack("job-1")
    assert report is not None and report.value == 100 and report.success and report.ended
    await p.amove(40)  # may go backwards
    report = await mel.Progress.atrack("job-1")
    assert report is not None and report.running
    await p.afail()
    report = await mel.Progress.atrack("job-1")
    assert report is not None and report.failure and report.value == -1
    await mel.Progress("job-2", "Other").amove(-5)
    reports = await mel.Progress.atrack(["job-2", "missing", "job-1"])
    assert [(r.id, r.value) for r in reports] == [("job-2", -1), ("job-1", -1)]
    fake_clock.advance(86_400)  # default expiry: one day
    assert await mel.Progress.atrack("job-1") is None


def test_progress_sync_and_without_expiry(memory: Store, fake_clock: FakeClock) -> None:
    mel.configure(progress_expiry=None)
    p = mel.Progress.start("s", "Sync")
    p.move(30)
    p.succeed()
    fake_clock.advance(10 * 86_400)
    report = mel.Progress.track("s")
    assert report is not None and report.success and report.description == "Sync"


async def test_cancel(api_store: Store, fake_clock: FakeClock) -> None:
    task_id = await Record(label="c").arun_every(60)
    assert task_id is not None
    assert await mel.tasks.acancel(task_id) is True
    assert await mel.tasks.acancel(task_id) is False
    assert await mel.tasks.aget(task_id) is None


async def test_list_and_counts(api_store: Store, fake_clock: FakeClock) -> None:
    await Record(label="a").arun_in(10, queue="q1")
    await SyncRecord(label="b").arun_in(20)
    await Failing(label="c").arun_now(retries=0)
    await mel.testing.run_due()
    assert await mel.tasks.acounts() == {"scheduled": 2, "running": 0, "retrying": 0,
                                         "failed": 1}
    assert [t.job_name for t in await mel.tasks.alist(job=Record)] == [Record.__mel_name__]
    assert [t.queue for t in await mel.tasks.alist(queue="q1")] == ["q1"]
    assert len(await mel.tasks.alist(limit=2)) == 2
    assert [t.state for t in await mel.tasks.alist()] == ["scheduled", "scheduled", "failed"]


async def test_enqueued_and_truncate(api_store: Store) -> None:
    await Record(label="a", n=3).arun_in(60)
    assert await mel.testing.aenqueued(Record, label="a")
    assert await mel.testing.aenqueued(Record, label="a", n=3)
    assert not await mel.testing.aenqueued(Record, label="b")
    assert not await mel.testing.aenqueued(SyncRecord)
    await mel.testing.atruncate()
    assert not await mel.testing.aenqueued(Record)


async def test_start_async_wakes_on_new_tasks_and_stop_waits(api_store: Store) -> None:
    mel.configure(poll_interval=30)  # only a wake-up can start the task quickly
    await mel.start_async()
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await Slow(label="s", seconds=0.3).arun_now()
        while ("start", "s") not in events:
            assert loop.time() - started < 2, "the worker did not wake for a new task"
            await asyncio.sleep(0.005)
    finally:
        await mel.stop()
    assert ("end", "s") in events  # stop() waited for the running task
    assert await api_store.list_tasks() == []


async def test_stop_timeout_hands_unfinished_tasks_back(api_store: Store) -> None:
    await mel.start_async()
    task_id = await Slow(label="long", seconds=30).arun_now()
    assert task_id is not None
    while ("start", "long") not in events:
        await asyncio.sleep(0.01)
    await mel.stop(timeout=0.1)
    task = await api_store.get(task_id)
    assert task is not None and task.lease_until_ms is None  # free for any worker at once


async def test_negative_batch_size_caps_running_tasks(api_store: Store) -> None:
    mel.configure(batch_size=-2)
    for i in range(6):
        await Slow(label=f"s{i}", seconds=0.1).arun_now()
    await mel.start_async()
    try:
        while sum(1 for e in events if e[0] == "end") < 6:
            await asyncio.sleep(0.01)
    finally:
        await mel.stop()
    running = peak = 0
    for event in events:
        running += 1 if event[0] == "start" else -1
        peak = max(peak, running)
    assert peak == 2


async def test_lease_is_renewed_while_a_task_runs(api_store: Store) -> None:
    mel.configure(lease=0.3)
    task_id = await Slow(label="r", seconds=1.0).arun_now()
    await mel.start_async()
    try:
        while ("start", "r") not in events:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.6)  # twice the lease: only renewal keeps the claim
        stolen = await api_store.claim("thief", "t", mel.clock.now_ms(), None, 300)
        assert stolen == []
    finally:
        await mel.stop()
    assert task_id is not None and await api_store.get(task_id) is None


async def test_a_restarted_worker_id_takes_its_tasks_back_at_once(api_store: Store) -> None:
    await Record(label="orphan").arun_now()
    # a worker named w1 claimed it and died: its lease still has 30 s to run
    claimed = await api_store.claim("w1", "dead", mel.clock.now_ms(), None, 30_000)
    assert len(claimed) == 1
    mel.configure(worker_id="w1")
    await mel.start_async()
    try:
        for _ in range(200):
            if ("run", "orphan", 0) in events:
                break
            await asyncio.sleep(0.01)
    finally:
        await mel.stop()
    assert ("run", "orphan", 0) in events


async def test_cancel_while_running_is_not_rescheduled(api_store: Store) -> None:
    task_id = await Slow(label="c", seconds=0.3).arun_every(0.5, start=datetime.now(UTC))
    assert task_id is not None
    await mel.start_async()
    try:
        while ("start", "c") not in events:
            await asyncio.sleep(0.01)
        assert await mel.tasks.acancel(task_id)
        while ("end", "c") not in events:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
    finally:
        await mel.stop()
    assert await api_store.get(task_id) is None


async def test_force_replacing_a_running_task_keeps_the_replacement(api_store: Store) -> None:
    await Slow(label="old", seconds=0.3).arun_now(id="same")
    await mel.start_async()
    try:
        while ("start", "old") not in events:
            await asyncio.sleep(0.01)
        await Record(label="new").arun_in(3600, id="same", force=True)
        while ("end", "old") not in events:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
    finally:
        await mel.stop()
    info = await mel.tasks.aget("same")
    assert info is not None and info.job_name == Record.__mel_name__


async def test_a_worker_runs_only_its_queues(api_store: Store) -> None:
    await Record(label="mail", n=1).arun_now(queue="mail")
    await Record(label="sms", n=2).arun_now(queue="sms")
    await mel.start_async(queues=["mail"])
    try:
        while ("run", "mail", 1) not in events:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
    finally:
        await mel.stop()
    assert ("run", "sms", 2) not in events
    assert [t.queue for t in await mel.tasks.alist()] == ["sms"]


@pytest.mark.parametrize("batch_size", [1, 3, -1])
async def test_positive_and_unlimited_batch_sizes_run_everything(
    api_store: Store, batch_size: int
) -> None:
    mel.configure(batch_size=batch_size)
    for i in range(7):
        await Record(label=f"b{i}").arun_now()
    await mel.start_async()
    try:
        while sum(1 for e in events if e[0] == "run") < 7:
            await asyncio.sleep(0.01)
    finally:
        await mel.stop()
    assert sorted(e[1] for e in events) == [f"b{i}" for i in range(7)]


def test_batch_size_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        mel.configure(batch_size=0)
