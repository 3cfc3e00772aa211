"""The store contract: every store must pass every test here (see mel/stores/base.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mel.scheduling import new_id
from mel.stores.base import (
    Delete,
    Fail,
    FailedTask,
    NewTask,
    ProgressRecord,
    Release,
    Reschedule,
    Store,
    WriteBatch,
)
from tests.conftest import build_store

T0 = 1_800_000_000_000  # a fixed "now": stores never read the wall clock
LEASE = 30_000


def task(task_id: str, due: int = T0, queue: str = "default", data: str = "{}", force: bool = False
         ) -> NewTask:
    return NewTask(task_id, queue, due, data, force)


async def put(store: Store, *tasks: NewTask) -> list[bool]:
    return await store.write(WriteBatch(list(tasks)), T0)


def failed(task_id: str, expires: int | None = T0 + 60_000) -> FailedTask:
    return FailedTask(task_id, "default", '{"j":"x"}', 3, "boom", "Traceback...", T0, expires)


async def test_write_stores_and_refuses_duplicates(store: Store) -> None:
    assert await put(store, task("a", data='{"v":1}')) == [True]
    assert await put(store, task("a", data='{"v":2}')) == [False]
    got = await store.get("a")
    assert got is not None
    assert (got.id, got.queue, got.due_ms, got.attempts, got.data) == ("a", "default", T0, 0,
                                                                         '{"v":1}')
    assert got.lease_until_ms is None and got.owner is None


async def test_force_replaces(store: Store) -> None:
    await put(store, task("a", data='{"v":1}'))
    assert await put(store, task("a", due=T0 + 5, data='{"v":2}', force=True)) == [True]
    got = await store.get("a")
    assert got is not None and got.data == '{"v":2}' and got.due_ms == T0 + 5


async def test_duplicates_inside_one_batch(store: Store) -> None:
    result = await put(store, task("a", data="1"), task("a", data="2"), task("b"),
                       task("b", data="3", force=True))
    assert result == [True, False, True, True]
    a, b = await store.get("a"), await store.get("b")
    assert a is not None and a.data == "1"
    assert b is not None and b.data == "3"


async def test_unforced_batch_keeps_first_copies(store: Store) -> None:
    await put(store, task("old", T0 - 5, queue="mail"))
    result = await put(store, task("a", T0 + 1, queue="mail"), task("a", T0 + 2, queue="sms"),
                       task("old", T0 + 3), task("c", T0 + 4, queue="sms"), task("d", T0 + 5))
    assert result == [True, False, False, True, True]
    got = {t.id: (t.queue, t.due_ms) for t in await store.list_tasks()}
    assert got == {"a": ("mail", T0 + 1), "old": ("mail", T0 - 5), "c": ("sms", T0 + 4),
                   "d": ("default", T0 + 5)}


async def test_forced_copies_decide_queue_and_due(store: Store) -> None:
    await put(store, task("old", T0 - 5, queue="mail"))
    (running,) = await store.claim("w", "t1", T0, None, LEASE)
    result = await put(store, task("a", T0 + 1, queue="mail"), task("a", T0 + 2, force=True),
                       task("b", T0 + 3), task("b", T0 + 4, queue="sms", force=True),
                       task("old", T0 + 5, force=True))
    assert result == [True] * 5
    got = {t.id: (t.queue, t.due_ms, t.lease_until_ms) for t in await store.list_tasks()}
    assert got == {"a": ("default", T0 + 2, None), "b": ("sms", T0 + 4, None),
                   "old": ("default", T0 + 5, None)}
    assert await store.finish([Delete("old", "t1")], T0) == [False]  # the replaced copy's


async def test_claim_due_in_order_with_limit(store: Store) -> None:
    await put(store, task("late", T0 - 10), task("early", T0 - 1000), task("future", T0 + 1),
              task("now", T0))
    first = await store.claim("w1", "tok1", T0, 2, LEASE)
    assert [c.id for c in first] == ["early", "late"]
    assert all(c.token == "tok1" for c in first)
    rest = await store.claim("w1", "tok2", T0, None, LEASE)
    assert [c.id for c in rest] == ["now"]
    assert await store.claim("w1", "tok3", T0, None, LEASE) == []
    later = await store.claim("w1", "tok4", T0 + 1, None, LEASE)
    assert [c.id for c in later] == ["future"]


async def test_claim_returns_task_data(store: Store) -> None:
    await put(store, task("a", T0 - 5, queue="mail", data='{"j":"x","p":{"n":1}}'))
    (c,) = await store.claim("w1", "tok", T0, 10, LEASE)
    assert (c.id, c.queue, c.due_ms, c.attempts, c.data) == ("a", "mail", T0 - 5, 0,
                                                               '{"j":"x","p":{"n":1}}')
    got = await store.get("a")
    assert got is not None and got.owner == "w1" and got.lease_until_ms == T0 + LEASE


async def test_claim_filters_queues_and_keeps_the_rest(store: Store) -> None:
    await put(store, task("a", T0 - 3, queue="mail"), task("b", T0 - 2, queue="sms"),
              task("c", T0 - 1, queue="mail"))
    got = await store.claim("w1", "t1", T0, None, LEASE, queues=["mail"])
    assert [c.id for c in got] == ["a", "c"]
    got = await store.claim("w1", "t2", T0, None, LEASE, queues=["sms", "other"])
    assert [c.id for c in got] == ["b"]


async def test_leased_task_is_not_claimed_until_lease_lapses(store: Store) -> None:
    await put(store, task("a"))
    assert len(await store.claim("w1", "t1", T0, None, LEASE)) == 1
    assert await store.claim("w2", "t2", T0 + LEASE - 1, None, LEASE) == []
    again = await store.claim("w2", "t2", T0 + LEASE, None, LEASE)
    assert [(c.id, c.token) for c in again] == [("a", "t2")]


async def test_finish_is_fenced_by_token(store: Store) -> None:
    await put(store, task("a"))
    await store.claim("w1", "old", T0, None, LEASE)
    await store.claim("w2", "new", T0 + LEASE, None, LEASE)  # w1's lease lapsed: taken over
    assert await store.finish([Delete("a", "old")], T0 + LEASE) == [False]
    assert await store.get("a") is not None
    assert await store.finish([Delete("a", "new")], T0 + LEASE) == [True]
    assert await store.get("a") is None
    assert await store.finish([Delete("a", "new")], T0 + LEASE) == [False]


async def test_reschedule_sets_due_attempts_data_and_frees(store: Store) -> None:
    await put(store, task("a"))
    await store.claim("w1", "t", T0, None, LEASE)
    ok = await store.finish([Reschedule("a", "t", T0 + 2000, 1, '{"v":9}')], T0)
    assert ok == [True]
    got = await store.get("a")
    assert got is not None
    assert (got.due_ms, got.attempts, got.data, got.lease_until_ms) == (T0 + 2000, 1, '{"v":9}',
                                                                          None)
    assert await store.claim("w1", "t2", T0 + 1999, None, LEASE) == []
    (c,) = await store.claim("w1", "t3", T0 + 2000, None, LEASE)
    assert c.attempts == 1 and c.data == '{"v":9}'
    # a stale reschedule is refused
    assert await store.finish([Reschedule("a", "t", T0, 0, "{}")], T0) == [False]


async def test_fail_moves_to_failed_set_with_expiry(store: Store) -> None:
    await put(store, task("a"), task("b"))
    await store.claim("w1", "t", T0, None, LEASE)
    assert await store.finish([Fail("a", "t", failed("a")), Fail("b", "bad", failed("b"))],
                              T0) == [True, False]
    assert await store.get("a") is None
    record = await store.get_failed("a", T0)
    assert record == failed("a")
    assert await store.get_failed("b", T0) is None
    assert [r.id for r in await store.list_failed(T0)] == ["a"]
    assert await store.get_failed("a", T0 + 60_000) is None  # expired
    assert await store.list_failed(T0 + 60_000) == []
    assert await store.purge_failed(T0 + 60_000) == 1


async def test_failed_record_without_expiry(store: Store) -> None:
    await put(store, task("a"))
    await store.claim("w1", "t", T0, None, LEASE)
    await store.finish([Fail("a", "t", failed("a", expires=None))], T0)
    assert await store.get_failed("a", T0 + 10**9) is not None
    assert await store.purge_failed(T0 + 10**9) == 0


async def test_release_frees_at_once(store: Store) -> None:
    await put(store, task("a", T0 - 7))
    await store.claim("w1", "t", T0, None, LEASE)
    assert await store.finish([Release("a", "t")], T0) == [True]
    (c,) = await store.claim("w2", "t2", T0 + 1, None, LEASE)
    assert (c.id, c.due_ms) == ("a", T0 - 7)


async def test_renew_extends_only_held_leases(store: Store) -> None:
    await put(store, task("a"), task("b"))
    await store.claim("w1", "t", T0, None, LEASE)
    held = await store.renew([("a", "t"), ("b", "wrong")], T0 + 20_000, LEASE)
    assert held == {"a"}
    got = await store.claim("w2", "t2", T0 + LEASE, None, LEASE)
    assert [c.id for c in got] == ["b"]  # a's lease was renewed, b's lapsed
    got = await store.claim("w2", "t3", T0 + 20_000 + LEASE, None, LEASE)
    assert [c.id for c in got] == ["a"]


async def test_release_worker_frees_its_tasks_only(store: Store) -> None:
    await put(store, task("a", T0 - 2), task("b", T0 - 1))
    await store.claim("w1", "t1", T0, 1, LEASE)
    await store.claim("w2", "t2", T0, 1, LEASE)
    assert await store.release_worker("w1") == 1
    got = await store.claim("w1", "t3", T0 + 1, None, LEASE)
    assert [c.id for c in got] == ["a"]
    assert await store.finish([Delete("a", "t1")], T0) == [False]  # the dead process's token


async def test_next_due(store: Store) -> None:
    assert await store.next_due_ms() is None
    await put(store, task("a", T0 + 500), task("b", T0 + 100, queue="q"))
    assert await store.next_due_ms() == T0 + 100
    assert await store.next_due_ms(["default"]) == T0 + 500
    await store.claim("w1", "t", T0 + 100, None, LEASE)
    assert await store.next_due_ms() == T0 + 500
    assert await store.next_due_ms(["q"]) == T0 + 100 + LEASE  # when its lease lapses


async def test_claim_next_says_when_to_claim_again(store: Store) -> None:
    empty = await store.claim_next("w", "t0", T0, 10, LEASE)
    assert (empty.tasks, empty.next_due_ms) == ([], None)
    await put(store, task("a", T0 - 2), task("b", T0 - 1), task("c", T0 + 700),
              task("m", T0 - 3, queue="mail"), task("n", T0 + 400, queue="mail"))
    # Full: more may be due at once, so "now".
    full = await store.claim_next("w", "t1", T0, 1, LEASE, ["default"])
    assert [c.id for c in full.tasks] == ["a"] and full.next_due_ms == T0
    # Not full: the earliest free due time or lease end of the queues asked for.
    rest = await store.claim_next("w", "t2", T0, 10, LEASE, ["default"])
    assert [c.id for c in rest.tasks] == ["b"] and rest.next_due_ms == T0 + 700
    mail = await store.claim_next("w", "t3", T0, None, LEASE, ["mail"])
    assert [c.id for c in mail.tasks] == ["m"] and mail.next_due_ms == T0 + 400
    assert (await store.claim_next("w", "t4", T0, 5, 1_000, ["none"])).next_due_ms is None
    # A lease ending before any due time is when to look again: its task may be free then.
    late = await store.claim_next("w", "t5", T0 + 800, None, 50)
    assert {c.id for c in late.tasks} == {"c", "n"} and late.next_due_ms == T0 + 850
    assert (await store.claim_next("w", "t6", T0 + 800, 0, LEASE)).tasks == []
    # A lapsed lease claimed again counts from its new lease end, not its old one.
    again = await store.claim_next("w2", "t7", T0 + 900, 10, 1_000, ["default"])
    assert {c.id for c in again.tasks} == {"c"} and again.next_due_ms == T0 + 1_900


async def test_list_tasks(store: Store) -> None:
    await put(store, task("a", T0 + 3), task("b", T0 + 1, queue="q"), task("c", T0 + 2))
    assert [t.id for t in await store.list_tasks()] == ["b", "c", "a"]
    assert [t.id for t in await store.list_tasks(queue="default")] == ["c", "a"]
    assert [t.id for t in await store.list_tasks(limit=2)] == ["b", "c"]


async def test_counts(store: Store) -> None:
    await put(store, task("s1", T0 + 1000), task("s2", T0 + 1000), task("r"), task("y"),
              task("f"))
    await store.claim("w1", "t", T0, None, LEASE)  # claims r, y, f (due now)
    await store.finish([Reschedule("y", "t", T0 + 50, 1, "{}"), Fail("f", "t", failed("f"))], T0)
    assert await store.counts(T0) == {"scheduled": 2, "running": 1, "retrying": 1, "failed": 1}


async def test_cancel(store: Store) -> None:
    await put(store, task("a"), task("b"), task("c"))
    assert await store.cancel("a") is True
    assert await store.cancel("a") is False
    assert await store.get("a") is None
    await store.claim("w1", "t", T0, None, LEASE)
    assert await store.cancel("b") is True  # running: its finish is then refused
    assert await store.finish([Reschedule("b", "t", T0 + 5, 0, "{}")], T0) == [False]
    assert await store.get("b") is None
    await store.finish([Fail("c", "t", failed("c"))], T0)
    assert await store.cancel("c") is True
    assert await store.get_failed("c", T0) is None


async def test_force_replacing_a_running_task_keeps_the_replacement(store: Store) -> None:
    await put(store, task("a", data="old"))
    await store.claim("w1", "t", T0, None, LEASE)
    await put(store, task("a", T0 + 60_000, data="new", force=True))
    assert await store.finish([Delete("a", "t")], T0) == [False]
    got = await store.get("a")
    assert got is not None and got.data == "new" and got.lease_until_ms is None


async def test_requeue_failed(store: Store) -> None:
    await put(store, task("a"))
    await store.claim("w1", "t", T0, None, LEASE)
    await store.finish([Fail("a", "t", failed("a"))], T0)
    assert await store.requeue_failed("a", T0 + 1, '{"again":1}', T0) is True
    assert await store.get_failed("a", T0) is None
    got = await store.get("a")
    assert got is not None and (got.due_ms, got.attempts, got.data) == (T0 + 1, 0, '{"again":1}')
    assert await store.requeue_failed("a", T0, "{}", T0) is False
    assert await store.requeue_failed("missing", T0, "{}", T0) is False


async def test_progress(store: Store) -> None:
    batch = WriteBatch(progress=[ProgressRecord("p1", "Import", 40, T0 + 1000),
                                 ProgressRecord("p2", "Other", -1, None)])
    await store.write(batch, T0)
    got = await store.get_progress(["p2", "nope", "p1"], T0)
    assert got == [ProgressRecord("p2", "Other", -1, None),
                   ProgressRecord("p1", "Import", 40, T0 + 1000)]
    assert await store.get_progress(["p1"], T0 + 1000) == []  # expired
    await store.write(WriteBatch(progress=[ProgressRecord("p1", "Import", 60, T0 + 5000)]), T0)
    assert [p.value for p in await store.get_progress(["p1"], T0 + 1000)] == [60]


async def test_batch_with_tasks_and_progress(store: Store) -> None:
    batch = WriteBatch([task("a"), task("b")], [ProgressRecord("p", "d", 50, None)])
    assert await store.write(batch, T0) == [True, True]
    assert len(await store.list_tasks()) == 2
    assert len(await store.get_progress(["p"], T0)) == 1


def fresh(due: int = T0, queue: str = "default", data: str = "{}") -> NewTask:
    """A task as run_* builds it when no id is given: a new id, marked fresh."""
    return NewTask(new_id(), queue, due, data, fresh=True)


async def test_fresh_tasks_are_stored_like_any_other(store: Store) -> None:
    # Fresh ids cannot be taken, so a store may skip its existence check (Redis writes
    # them with plain commands): alone, in big batches, and beside named or forced tasks.
    one = fresh(T0 - 1, "mail", '{"v":-1}')
    assert await put(store, one) == [True]
    many = [fresh(T0 + n, "sms" if n % 3 else "default", f'{{"v":{n}}}') for n in range(25_000)]
    assert all(await store.write(WriteBatch(many), T0))
    mixed = [fresh(T0 + 30_000), task("named", T0 + 30_001),
             NewTask(new_id(), "default", T0 + 30_002, "{}", force=True, fresh=True)]
    assert await put(store, *mixed) == [True, True, True]
    with_progress = WriteBatch([fresh(T0 + 30_003)], [ProgressRecord("p", "d", 7, None)])
    assert await store.write(with_progress, T0) == [True]
    expected = {t.id: (t.queue, t.due_ms, t.data)
                for t in (one, *many, *mixed, *with_progress.tasks)}
    listed = await store.list_tasks()
    assert {t.id: (t.queue, t.due_ms, t.data) for t in listed} == expected
    assert [t.id for t in listed] == sorted(expected, key=lambda i: expected[i][1])
    assert await store.next_due_ms() == T0 - 1
    assert await store.next_due_ms(["sms"]) == T0 + 1
    assert (await store.get_progress(["p"], T0))[0].value == 7
    claimed = await store.claim("w", "t", T0 + 2, None, LEASE, ["mail", "sms"])
    assert [(c.id, c.data) for c in claimed] == [(one.id, one.data), (many[1].id, '{"v":1}'),
                                                 (many[2].id, '{"v":2}')]
    assert all(await store.finish([Delete(c.id, "t") for c in claimed], T0))
    assert (await store.counts(T0 + 10**9))["scheduled"] == len(expected) - 3


async def test_truncate(store: Store) -> None:
    await put(store, task("a"), task("b"))
    await store.claim("w1", "t", T0, 1, LEASE)
    await store.finish([Fail("a", "t", failed("a"))], T0)
    await store.write(WriteBatch(progress=[ProgressRecord("p", "d", 5, None)]), T0)
    await store.truncate()
    assert await store.list_tasks() == []
    assert await store.list_failed(T0) == []
    assert await store.get_progress(["p"], T0) == []
    assert await store.next_due_ms() is None


async def test_big_batches(store: Store) -> None:
    n = 10_000
    tasks = [task(f"t{i:05d}", T0 - n + i) for i in range(n)]
    assert all(await store.write(WriteBatch(tasks), T0))
    claimed = await store.claim("w1", "t", T0, None, LEASE)
    assert [c.id for c in claimed] == [t.id for t in tasks]
    done = await store.finish([Delete(c.id, "t") for c in claimed], T0)
    assert all(done) and len(done) == n
    assert await store.next_due_ms() is None


async def test_concurrent_claimers_never_share_a_task(store: Store, tmp_path: Path) -> None:
    # Several store objects (several connections where the store has them) claim at once.
    if type(store).__name__ == "MemoryStore":
        others = [store] * 4
    else:
        others = [build_store_like(store, tmp_path) for _ in range(4)]
        for other in others:
            await other.open()
    await put(store, *(task(f"t{i}", T0 - i) for i in range(400)))

    async def claim_all(s: Store, n: int) -> list[str]:
        ids: list[str] = []
        while got := await s.claim(f"w{n}", f"tok{n}", T0, 7, LEASE):
            ids += [c.id for c in got]
        return ids

    try:
        results = await asyncio.gather(*(claim_all(s, n) for n, s in enumerate(others)))
    finally:
        for other in others:
            if other is not store:
                await other.close()
    every = [i for ids in results for i in ids]
    assert len(every) == 400 and len(set(every)) == 400


def build_store_like(store: Store, tmp_path: Path) -> Store:
    kind = {"SQLiteStore": "sqlite", "RedisStore": "redis", "PostgresStore": "postgres"}[
        type(store).__name__
    ]
    return build_store(kind, tmp_path)


async def test_watcher_wakes_for_earlier_tasks_only(store: Store) -> None:
    watcher = await store.watch()
    try:
        watcher.wake_ms = T0 + 1000
        await put(store, task("late", T0 + 5000))
        await asyncio.sleep(0.05)
        assert not watcher.event.is_set()
        await put(store, task("soon", T0 + 10))
        await asyncio.wait_for(watcher.event.wait(), 2)
    finally:
        await watcher.close()


@pytest.mark.parametrize("count", [1, 3])
async def test_claim_limit_counts_exactly(store: Store, count: int) -> None:
    await put(store, *(task(f"t{i}") for i in range(5)))
    assert len(await store.claim("w", "t", T0, count, LEASE)) == count
