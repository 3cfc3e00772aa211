"""Scheduling through the public API: return values, options, times, errors."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import mel
from mel.stores.base import Store
from mel.task import loads
from tests.conftest import FakeClock
from tests.jobs_for_tests import AtAndEvery, Callbacks, OnlyAt, Record, events

T0 = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC)  # matches fake_clock (1_800_000_000_000 ms)


async def stored(task_id: str) -> tuple[int, dict[str, object]]:
    store = mel.settings.store
    assert store is not None
    task = await store.get(task_id)
    assert task is not None
    return task.due_ms, json.loads(task.data)


def test_no_store_configured_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEL_STORE", raising=False)
    with pytest.raises(mel.ConfigurationError, match=r"mel.configure\(store="):
        Record(label="x").run_now()


def test_store_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEL_STORE", "memory://")
    assert Record(label="x").run_now() is not None
    assert isinstance(mel.settings.store, mel.stores.MemoryStore)


def test_disabled_storage_returns_none() -> None:
    mel.configure(store=None)
    assert Record(label="x").run_now() is None
    assert Record(label="x").run_every(5) is None
    assert mel.Progress.track("p") is None
    with mel.transaction() as tx:
        assert Record(label="y").run_now(tx=tx) is None


def test_ids_duplicates_and_force(memory: Store) -> None:
    first = Record(label="a").run_now()
    assert isinstance(first, str) and len(first) == 32
    assert Record(label="a").run_in(5, id="fixed") == "fixed"
    assert Record(label="b").run_in(5, id="fixed") is None
    assert Record(label="c").run_in(9, id="fixed", force=True) == "fixed"
    _, data = asyncio.run(stored("fixed"))
    assert data["p"] == {"label": "c", "n": 0}


async def test_async_twins(memory: Store, fake_clock: FakeClock) -> None:
    job = Record(label="a")
    assert (await job.arun_now(id="n")) == "n"
    assert (await job.arun_in(10, id="i")) == "i"
    assert (await job.arun_at(T0 + timedelta(hours=1), id="a")) == "a"
    assert (await job.arun_every(60, id="e")) == "e"
    assert (await job.arun_on("0 * * * *", id="o")) == "o"
    assert (await job.arun_now(id="n")) is None
    dues = {i: (await stored(i))[0] for i in "niaeo"}
    base = fake_clock.ms
    assert dues == {"n": base, "i": base + 10_000, "a": base + 3_600_000, "e": base + 60_000,
                    "o": base + 3_600_000}


def test_times_are_kept_to_the_millisecond(memory: Store, fake_clock: FakeClock) -> None:
    job = Record(label="a")
    job.run_in(timedelta(milliseconds=1234), id="ms")
    job.run_at(datetime(2030, 1, 1, 0, 0, 0, 987654, tzinfo=UTC), id="at")
    due_in, _ = asyncio.run(stored("ms"))
    due_at, _ = asyncio.run(stored("at"))
    assert due_in == fake_clock.ms + 1234
    assert due_at == int(datetime(2030, 1, 1, tzinfo=UTC).timestamp()) * 1000 + 987


def test_naive_datetimes_use_settings_timezone(memory: Store) -> None:
    mel.configure(timezone="Africa/Lagos")  # UTC+1, no DST
    Record(label="a").run_at(datetime(2030, 6, 1, 12, 0), id="naive")
    due, _ = asyncio.run(stored("naive"))
    assert due == int(datetime(2030, 6, 1, 11, 0, tzinfo=UTC).timestamp() * 1000)


def test_negative_delay_and_past_time_are_allowed(memory: Store, fake_clock: FakeClock) -> None:
    Record(label="a").run_in(-60, id="neg")
    Record(label="a").run_at(T0 - timedelta(days=1), id="past")
    assert asyncio.run(stored("neg"))[0] == fake_clock.ms - 60_000


def test_run_every_grid_and_until(memory: Store, fake_clock: FakeClock) -> None:
    Record(label="a").run_every(timedelta(minutes=5), id="e1")
    due, data = asyncio.run(stored("e1"))
    assert due == fake_clock.ms + 300_000
    assert data["s"]["kind"] == "every" and data["o"] == due  # type: ignore[index]
    start = T0 + timedelta(hours=1)
    Record(label="a").run_every(60, start=start, until=timedelta(minutes=10), id="e2")
    due, data = asyncio.run(stored("e2"))
    assert due == int(start.timestamp() * 1000)
    schedule = loads(json.dumps(data)).schedule
    assert schedule is not None and schedule.until_ms == due + 600_000


def test_run_on_in_a_zone(memory: Store, fake_clock: FakeClock) -> None:
    # 08:00 UTC is 03:00 in New York (EST); the next 09:30 there is 14:30 UTC.
    Record(label="a").run_on("30 9 * * *", tz="America/New_York", id="c")
    due, data = asyncio.run(stored("c"))
    assert due == int(datetime(2027, 1, 15, 14, 30, tzinfo=UTC).timestamp() * 1000)
    assert data["s"]["tz"] == "America/New_York"  # type: ignore[index]
    Record(label="a").run_on("@daily", tz=ZoneInfo("Asia/Tokyo"), id="d")
    due, _ = asyncio.run(stored("d"))
    assert due == int(datetime(2027, 1, 15, 15, 0, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda j: j.run_every(0), ValueError),
        (lambda j: j.run_every(-5), ValueError),
        (lambda j: j.run_every("5"), TypeError),
        (lambda j: j.run_on("61 * * * *"), ValueError),
        (lambda j: j.run_on("not cron"), ValueError),
        (lambda j: j.run_on("* * * *"), ValueError),
        (lambda j: j.run_on("0 0 30 2 *"), ValueError),
        (lambda j: j.run_on("@daily", tz="Mars/Olympus"), ValueError),
        (lambda j: j.run_every(60, start=T0, until=T0 - timedelta(seconds=1)), ValueError),
        (lambda j: j.run_on("0 * * * *", until=T0), ValueError),
        (lambda j: j.run_in("soon"), TypeError),
        (lambda j: j.run_at("2030-01-01"), TypeError),
        (lambda j: j.run_now(retries=-1), ValueError),
        (lambda j: j.run_now(retries=["x"]), TypeError),
        (lambda j: j.run_now(retries=True), TypeError),
        (lambda j: j.run_now(id=""), TypeError),
        (lambda j: j.run_now(id=5), TypeError),
        (lambda j: j.run_now(queue=""), TypeError),
        (lambda j: j.run_now(force="yes"), TypeError),
    ],
)
def test_bad_input_raises_at_the_call_and_stores_nothing(
    memory: mel.stores.MemoryStore, fake_clock: FakeClock, call: object, error: type
) -> None:
    with pytest.raises(error):
        call(Record(label="x"))  # type: ignore[operator]
    assert asyncio.run(memory.list_tasks()) == []


def test_retries_forms_are_stored(memory: Store) -> None:
    Record(label="a").run_now(id="d")
    Record(label="a").run_now(id="n", retries=3)
    Record(label="a").run_now(id="l", retries=[1, timedelta(milliseconds=2500)])
    Record(label="a").run_now(id="z", retries=0)
    assert "r" not in asyncio.run(stored("d"))[1]
    assert asyncio.run(stored("n"))[1]["r"] == [2000, 4000, 8000]
    assert asyncio.run(stored("l"))[1]["r"] == [1000, 2500]
    assert asyncio.run(stored("z"))[1]["r"] == []


def test_queue_option(memory: Store) -> None:
    Record(label="a").run_now(id="q", queue="mail")
    task = asyncio.run(memory.get("q"))
    assert task is not None and task.queue == "mail"


def test_enqueue_callbacks(memory: Store) -> None:
    Callbacks(label="a").run_now(id="cb")
    Callbacks(label="b").run_now(id="cb")
    assert events == [
        ("before_enqueue", "a"), ("after_enqueue", "a", True),
        ("before_enqueue", "b"), ("after_enqueue", "b", False),
    ]


def test_templates_schedule(memory: Store) -> None:
    assert OnlyAt().run_at(T0) is not None
    assert AtAndEvery().run_every(10) is not None


def test_sync_api_works_inside_a_running_loop(memory: Store) -> None:
    async def inside() -> str | None:
        return Record(label="from-loop").run_now()

    assert asyncio.run(inside()) is not None


def test_default_ids_are_uuid7_in_time_order(memory: Store) -> None:
    import time
    import uuid

    from mel.scheduling import new_id

    stored_id = Record(label="a").run_now()
    assert stored_id is not None and uuid.UUID(stored_id).version == 7
    first = [new_id() for _ in range(1000)]
    time.sleep(0.002)
    later = new_id()
    assert len(set(first)) == 1000
    for value in (*first, later):
        parsed = uuid.UUID(value)
        assert parsed.hex == value and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    # The first 48 bits are the time in ms: ids of later tasks sort after earlier ones.
    assert max(first) < later
    assert abs(int(later[:12], 16) - time.time() * 1000) < 5_000


def test_task_json_is_the_compact_encoding_of_its_fields() -> None:
    from mel import schedule
    from mel.task import TaskData

    def plain(data: TaskData) -> str:
        out: dict[str, object] = {"j": data.job, "p": data.params}
        if data.retries is not None:
            out["r"] = list(data.retries)
        if data.schedule is not None:
            out["s"] = data.schedule.to_json()
            out["o"] = data.occurrence_ms
        return json.dumps(out, separators=(",", ":"), ensure_ascii=False)

    sched, first = schedule.every(60_000, now_ms=1_800_000_000_000, start_ms=None,
                                  until_ms=None, until_delta_ms=None)
    cases = [
        TaskData("a.B", {}),
        TaskData("a.B", {"x": 1, "s": 'quote " and é', "l": [1.5, None, True]}, (0, 2000)),
        TaskData("naïve \"job\"", {"d": {"k": "v"}}, ()),
        TaskData("a.B", {}, None, sched, first),
    ]
    # More job names and retry policies than the fragment caches keep.
    cases += [TaskData(f"job{i}", {"i": i}, (i,)) for i in range(1500)]
    for data in cases * 2:  # the second time from the caches
        text = data.dumps()
        assert text == plain(data)
        assert loads(text) == data


def test_after_enqueue_in_a_transaction_gets_its_own_task_outcome(memory: Store) -> None:
    Record(label="first").run_now(id="taken")
    with mel.transaction() as tx:
        Record(label="plain").run_now(id="p1", tx=tx)  # no callbacks
        Callbacks(label="dup").run_now(id="taken", tx=tx)
        Record(label="plain").run_now(id="taken", tx=tx)
        Callbacks(label="new").run_now(id="fresh", tx=tx)
    assert tx.results == [True, False, False, True]
    assert [e for e in events if e[0] == "after_enqueue"] == [
        ("after_enqueue", "dup", False), ("after_enqueue", "new", True),
    ]
