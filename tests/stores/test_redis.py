"""Redis-specific behaviour of RedisStore (the shared contract is in test_contract.py)."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import statistics
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio.connection import SSLConnection
from redis.crc import key_slot

from mel.errors import StoreError
from mel.scheduling import new_id
from mel.stores.base import (
    Delete,
    Fail,
    FailedTask,
    NewTask,
    ProgressRecord,
    Release,
    Reschedule,
    WriteBatch,
)
from mel.stores.redis import _SCRIPTS, RedisStore
from tests.conftest import REDIS_URL, SESSION_TAG, open_store

T0 = 1_800_000_000_000
LEASE = 30_000
# A realistic 60-byte data string, as mel/task.py writes it.
DATA = '{"j":"myapp.jobs.SendEmail","p":{"user_id":12345,"x":"abc"}}'
assert len(DATA) == 60


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RedisStore]:
    s = await open_store("redis", tmp_path)
    assert isinstance(s, RedisStore)
    try:
        yield s
    finally:
        await s.truncate()
        await s.close()


@pytest.fixture
async def other(store: RedisStore) -> AsyncIterator[RedisStore]:
    """A second store object on the same namespace: its own connections, like another
    process."""
    s = RedisStore(REDIS_URL, namespace=store.namespace)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def client(store: RedisStore) -> Any:
    return store._state().client


def count_scripts(store: RedisStore) -> list[str]:
    """Record the SHA of every EVALSHA the store sends from now on."""
    direct = store._state().direct
    calls: list[str] = []
    original = direct.call

    async def spy(*args: Any) -> Any:
        if args[0] == "EVALSHA":
            calls.append(args[1])
        return await original(*args)

    direct.call = spy  # type: ignore[method-assign]
    return calls


def tasks(n: int, due: int = T0) -> list[NewTask]:
    return [NewTask(uuid.uuid4().hex, "default", due - n + i, DATA) for i in range(n)]


async def test_scripts_reload_after_noscript(store: RedisStore) -> None:
    await store.write(WriteBatch(tasks(3)), T0)
    await client(store).script_flush()
    assert len(await store.claim("w", "t", T0, None, LEASE)) == 3
    assert await client(store).script_exists(store_script_sha("claim")) == [True]


def store_script_sha(name: str) -> str:
    return _SCRIPTS[name].sha


async def test_big_claim_and_finish_are_one_call_each(store: RedisStore) -> None:
    batch = tasks(10_000)
    calls = count_scripts(store)
    assert all(await store.write(WriteBatch(batch), T0))
    claimed = await store.claim("w", "tok", T0, None, LEASE)
    assert [c.id for c in claimed] == [t.id for t in batch]
    assert all(c.data == DATA for c in claimed)
    outcomes = [Fail(c.id, "tok", FailedTask(c.id, "default", DATA, 1, "e", "tb", T0, None))
                if i % 2 else Reschedule(c.id, "tok", T0 + i, 1, DATA)
                for i, c in enumerate(claimed)]
    assert all(await store.finish(outcomes, T0))
    assert calls == [store_script_sha(n) for n in ("write_new", "claim", "finish")]
    counts = await store.counts(T0)
    assert counts == {"scheduled": 0, "running": 0, "retrying": 5_000, "failed": 5_000}


async def test_huge_write_is_one_call(store: RedisStore) -> None:
    batch = tasks(100_000)
    calls = count_scripts(store)
    started = time.perf_counter()
    assert all(await store.write(WriteBatch(batch), T0))
    elapsed = time.perf_counter() - started
    print(f"\n100,000-task write: one call, {elapsed * 1000:.0f} ms")
    assert len(calls) == 1
    assert (await store.counts(T0))["scheduled"] == 100_000


def documented_bucket(task_id: str) -> str:
    """docs/redis-layout.md: a packed id's last 14 bits, any other id's SHA-1's first four
    hex digits mod 16384, as four hex digits."""
    if len(task_id) == 32 and task_id == task_id.lower():
        return f"d:{int(task_id[-4:], 16) % 16384:04x}"
    return f"d:{int(hashlib.sha1(task_id.encode()).hexdigest()[:4], 16) % 16384:04x}"


async def test_every_key_carries_the_namespace_hash_tag(store: RedisStore) -> None:
    await store.write(WriteBatch([NewTask("plain-id", "mail", T0, "{}"), *tasks(50)],
                                 [ProgressRecord("p", "d", 1, T0 + 10),
                                  ProgressRecord("q", "d", 1, None)]), T0)
    claimed = await store.claim("w", "t", T0, 10, LEASE)
    await store.finish([Reschedule(claimed[0].id, "t", T0, 2, "{}"),
                        Fail(claimed[1].id, "t", FailedTask(claimed[1].id, "default", "{}", 1,
                                                            "e", "tb", T0, T0 + 5))], T0)
    keys = [k async for k in client(store).scan_iter(match=f"*{store.namespace}*")]
    prefix = f"{{{store.namespace}}}:".encode()
    assert keys and all(k.startswith(prefix) for k in keys)
    assert len({key_slot(k) for k in keys}) == 1
    names = {k.decode(errors="replace") for k in keys}
    for suffix in ("due", "leased", "queue", "attempts", "ldue", "owner", "token", "failed",
                   "failed:at", "failed:exp", "progress", "progress:exp"):
        assert prefix.decode() + suffix in names
    neighbour = RedisStore(REDIS_URL, namespace=store.namespace + "*")  # a glob character
    try:
        await neighbour.write(WriteBatch([NewTask("n", "default", T0, "{}")]), T0)
        await store.truncate()  # leaves the neighbour's keys alone
        # SCAN may return a key twice (while Redis rehashes): compare the distinct keys.
        left = sorted({k async for k in client(store).scan_iter(match=f"*{store.namespace}*")})
        assert left == sorted(f"{{{neighbour.namespace}}}:{n}".encode()
                              for n in ("due", documented_bucket("n")))
        await neighbour.truncate()
        assert [k async for k in client(store).scan_iter(match=f"*{store.namespace}*")] == []
    finally:
        await neighbour.close()


async def test_data_buckets_as_documented(store: RedisStore) -> None:
    """docs/redis-layout.md: a packed id's data lives in the bucket of its last 14 bits, any
    other id's in that of its SHA-1's first four hex digits (mod 16384), whichever script or
    MULTI/EXEC wrote it."""
    hexed, forced, plain = uuid.uuid4().hex, uuid.uuid4().hex, "report:2024-06"
    await store.write(WriteBatch([NewTask(hexed, "default", T0, DATA),
                                  NewTask(plain, "default", T0, DATA)]), T0)  # write_new
    await store.write(WriteBatch([NewTask(forced, "default", T0, DATA, True)]), T0)  # write
    # MULTI/EXEC, alone and in a batch
    fresh = [new_id() for _ in range(3)]
    await store.write(WriteBatch([NewTask(fresh[0], "default", T0, DATA, fresh=True)]), T0)
    await store.write(WriteBatch([NewTask(i, "default", T0, DATA, fresh=True)
                                  for i in fresh[1:]]), T0)
    ns, c = f"{{{store.namespace}}}:", client(store)
    for task_id in (hexed, forced, *fresh):
        packed = b"\xff" + bytes.fromhex(task_id)
        assert await c.hget(ns + documented_bucket(task_id), packed) == DATA.encode()
    assert await c.hget(ns + documented_bucket(plain), plain) == DATA.encode()
    # Ids that differ only in bit 0, 12 or 13 use different buckets; bit 14 does not count.
    # Both ways in: MULTI/EXEC (fresh, one task and a batch) and write_new (ids given).
    twins = []
    for base, fresh_ in ((new_id()[:-4], True), (uuid.uuid4().hex[:-4], False)):
        ids = [base + f"{v:04x}" for v in (0x0000, 0x0001, 0x1000, 0x2000, 0x3fff)]
        await store.write(WriteBatch([NewTask(i, "default", T0, DATA, fresh=fresh_)
                                      for i in ids]), T0)
        await store.write(WriteBatch([NewTask(base + "4000", "default", T0, DATA,
                                              fresh=fresh_)]), T0)
        assert [documented_bucket(i) for i in ids] == [
            "d:0000", "d:0001", "d:1000", "d:2000", "d:3fff"]
        assert documented_bucket(base + "4000") == "d:0000"
        for task_id in (*ids, base + "4000"):
            packed = b"\xff" + bytes.fromhex(task_id)
            assert await c.hget(ns + documented_bucket(task_id), packed) == DATA.encode()
        twins += [*ids, base + "4000"]
    claimed = await store.claim("w", "t", T0, None, LEASE)
    assert sorted(x.id for x in claimed) == sorted((hexed, forced, plain, *fresh, *twins))
    assert {x.data for x in claimed} == {DATA}


async def test_fresh_writes_are_one_multi_exec_without_scripts(store: RedisStore) -> None:
    direct = store._state().direct
    scripts, pipelines = count_scripts(store), []
    original = direct.pipeline

    async def spy(packed: bytes, count: int) -> Any:
        pipelines.append((packed[:15], count))
        return await original(packed, count)

    direct.pipeline = spy  # type: ignore[method-assign]
    one = NewTask(new_id(), "mail", T0, DATA, fresh=True)
    batch = [NewTask(new_id(), "mail" if i % 2 else "default", T0 + i, DATA, fresh=True)
             for i in range(30_000)]  # more than one ZADD and one queue HSET of 10,000 each
    assert await store.write(WriteBatch([one]), T0) == [True]
    assert all(await store.write(WriteBatch(batch), T0))
    assert scripts == []
    assert [p[0] for p in pipelines] == [b"*1\r\n$5\r\nMULTI\r\n"] * 2
    assert pipelines[0][1] == 6  # MULTI, data, due, queue, wake-up, EXEC
    # MULTI, an HSET per data bucket, 3 ZADDs and 2 queue HSETs of 10,000, PUBLISH, EXEC
    assert pipelines[1][1] == 1 + len({documented_bucket(t.id) for t in batch}) + 3 + 2 + 1 + 1
    counts = await store.counts(T0 + 10**9)
    assert counts["scheduled"] == 30_001
    claimed = await store.claim("w", "t", T0 + 10**9, None, LEASE, ["mail"])
    assert sorted(c.id for c in claimed) == sorted(
        [one.id, *(t.id for t in batch if t.queue == "mail")])


@pytest.mark.parametrize("sync", [False, True])
async def test_failed_fresh_write_raises_and_the_connection_stays_usable(
        store: RedisStore, sync: bool) -> None:
    due_key = f"{{{store.namespace}}}:due"
    await client(store).set(due_key, "not a sorted set")
    batch = WriteBatch([NewTask(new_id(), "default", T0, DATA, fresh=True)])

    async def write() -> list[bool]:
        if sync:
            return await asyncio.to_thread(store.write_sync, batch, T0)
        return await store.write(batch, T0)

    with pytest.raises(StoreError, match="WRONGTYPE"):
        await write()
    await client(store).delete(due_key)
    assert await write() == [True]  # every reply of the failed call was read
    (claimed,) = await store.claim("w", "t", T0, None, LEASE)
    assert claimed.id == batch.tasks[0].id


async def test_fresh_writes_wake_other_stores(store: RedisStore, other: RedisStore) -> None:
    watcher = await other.watch()
    try:
        for i, sync in enumerate((False, True, False)):
            watcher.event.clear()
            watcher.wake_ms = T0 + i + 1  # only the batch's earliest task wakes it
            tasks_ = [NewTask(new_id(), "default", T0 + i + k, DATA, fresh=True)
                      for k in reversed(range(1 + 10 * i))]
            if sync:
                await asyncio.to_thread(store.write_sync, WriteBatch(tasks_), T0)
            else:
                await store.write(WriteBatch(tasks_), T0)
            await asyncio.wait_for(watcher.event.wait(), 2)
    finally:
        await watcher.close()


async def test_bytes_per_task(tmp_path: Path) -> None:
    s = RedisStore(REDIS_URL, namespace=f"melmem{SESSION_TAG}")
    await s.open()
    try:
        await s.truncate()
        n = 100_000
        batch = [NewTask(uuid.uuid4().hex, "default", T0 + i, DATA) for i in range(n)]
        c = client(s)
        # UNLINK frees in the background: let earlier tests' keys go before measuring.
        for _ in range(200):
            if not (await c.info("memory"))["lazyfree_pending_objects"]:
                break
            await asyncio.sleep(0.05)
        before = (await c.info("memory"))["used_memory"]
        assert all(await s.write(WriteBatch(batch), T0))
        after = (await c.info("memory"))["used_memory"]
        per_task = (after - before) / n
        print(f"\nRedis memory per scheduled task (60-byte data, 32-hex id): {per_task:.1f} B")
        assert per_task < 250
    finally:
        await s.truncate()
        await s.close()


async def test_wakes_another_store_within_milliseconds(store: RedisStore,
                                                      other: RedisStore) -> None:
    watcher = await other.watch()
    try:
        latencies = []
        for i in range(40):
            watcher.event.clear()
            watcher.wake_ms = T0 + 10**9
            started = time.perf_counter()
            await store.write(WriteBatch([NewTask(f"t{i}", "default", T0 + i, "{}")]), T0)
            await asyncio.wait_for(watcher.event.wait(), 2)
            latencies.append(time.perf_counter() - started)
        median = statistics.median(latencies) * 1000
        print(f"\npub/sub wake-up latency: median {median:.2f} ms, "
              f"max {max(latencies) * 1000:.2f} ms")
        assert median < 50
        # A finish that frees a task wakes too; one that deletes does not.
        (c,) = await store.claim("w", "tok", T0 + 100, 1, LEASE)
        watcher.event.clear()
        await store.finish([Delete(c.id, "tok")], T0)
        await asyncio.sleep(0.05)
        assert not watcher.event.is_set()
        (c,) = await store.claim("w", "tok2", T0 + 100, 1, LEASE)
        await store.finish([Reschedule(c.id, "tok2", T0 + 5, 1, "{}")], T0)
        await asyncio.wait_for(watcher.event.wait(), 2)
    finally:
        await watcher.close()


async def test_foreign_notifications_and_own_echo(store: RedisStore) -> None:
    watcher = await store.watch()
    try:
        watcher.wake_ms = T0
        channel = f"{{{store.namespace}}}:wake"
        # Our own echo is skipped: the write already woke this store's watchers locally.
        await client(store).publish(channel, f"{T0 - 1} {store._origin}")
        await asyncio.sleep(0.05)
        assert not watcher.event.is_set()
        await client(store).publish(channel, "not a number")
        await client(store).publish(channel, str(T0 + 1))  # later than planned: ignored
        await asyncio.sleep(0.05)
        assert not watcher.event.is_set()
        await client(store).publish(channel, str(T0 - 1))  # as another language would
        await asyncio.wait_for(watcher.event.wait(), 2)
    finally:
        await watcher.close()


async def test_watcher_close_unsubscribes(store: RedisStore) -> None:
    channel = f"{{{store.namespace}}}:wake"
    first, second = await store.watch(), await store.watch()
    assert await client(store).pubsub_numsub(channel) == [(channel.encode(), 1)]
    await first.close()
    assert await client(store).pubsub_numsub(channel) == [(channel.encode(), 1)]
    await second.close()
    assert store._state().listener.task is None
    for _ in range(50):
        if await client(store).pubsub_numsub(channel) == [(channel.encode(), 0)]:
            break
        await asyncio.sleep(0.01)
    assert await client(store).pubsub_numsub(channel) == [(channel.encode(), 0)]


async def test_enqueue_as_another_language_would(store: RedisStore) -> None:
    """Follows docs/redis-layout.md by hand: its enqueue script, then MULTI/EXEC."""
    doc = (Path(__file__).parents[2] / "docs" / "redis-layout.md").read_text()
    script = doc.split("```lua\n", 1)[1].split("```", 1)[0]
    ns = f"{{{store.namespace}}}:"
    hex_id, plain_id, direct_id = uuid.uuid4().hex, "report:2024-06", uuid.uuid4().hex
    c = client(store)
    watcher = await store.watch()
    try:
        watcher.wake_ms = T0 + 1
        packed = b"\xff" + bytes.fromhex(hex_id)
        assert await c.eval(script, 1, ns, packed, "default", T0, DATA) == 1
        await asyncio.wait_for(watcher.event.wait(), 2)
        assert await c.eval(script, 1, ns, packed, "default", T0, "{}") == 0  # first wins
        assert await c.eval(script, 1, ns, plain_id, "reports", T0 - 1, DATA) == 1
        watcher.event.clear()
        async with c.pipeline(transaction=True) as tx:
            key = b"\xff" + bytes.fromhex(direct_id)
            tx.hset(ns + documented_bucket(direct_id), key, DATA)  # a packed id's bucket
            tx.hset(ns + "queue", key, "mail")
            tx.zadd(ns + "due", {key: T0})
            tx.publish(ns + "wake", str(T0))
            await tx.execute()
        await asyncio.wait_for(watcher.event.wait(), 2)
    finally:
        await watcher.close()
    claimed = await store.claim("w", "t", T0, None, LEASE)
    assert sorted((x.id, x.queue, x.due_ms, x.data) for x in claimed) == sorted(
        [(hex_id, "default", T0, DATA), (plain_id, "reports", T0 - 1, DATA),
         (direct_id, "mail", T0, DATA)])


async def test_url_parsing_without_connecting() -> None:
    s = RedisStore("redis://:s3cret@db.example:6380/3", namespace="x", pool_size=2)
    assert (s._conn_kwargs["password"], s._conn_kwargs["port"], s._conn_kwargs["db"]) == (
        "s3cret", 6380, 3)
    assert "s3cret" not in repr(s)
    tls = RedisStore("rediss://user:pw@db.example:6390/0")
    pool = tls._state().client.connection_pool
    assert pool.connection_class is SSLConnection and pool.max_connections == 8
    assert pool.connection_kwargs["username"] == "user"
    # The script calls' own connections: the same options, async and blocking classes.
    assert tls._state().direct._class is SSLConnection
    assert tls._sync._class is redis.connection.SSLConnection
    assert tls._sync._kwargs["username"] == "user" and tls._sync._kwargs["port"] == 6390
    await tls.close()
    await s.close()
    with pytest.raises(ValueError):
        RedisStore("redis://localhost", pool_size=0)


async def test_script_calls_survive_killed_connections(store: RedisStore) -> None:
    """The script calls' own connections reconnect after the server drops them; a call
    caught mid-way fails with StoreError (it is not sent twice) and the next one works."""
    aux = redis.Redis.from_url(REDIS_URL)
    try:
        for _ in range(2):
            assert store.write_sync(WriteBatch(tasks(1)), T0) == [True]
            assert await store.write(WriteBatch(tasks(1)), T0) == [True]
            # Only the test database's clients: other programs may share this server.
            db = aux.connection_pool.connection_kwargs.get("db", 0)
            mine = aux.client_id()
            killed = [aux.client_kill_filter(_id=c["id"]) for c in aux.client_list()
                      if int(c["db"]) == db and int(c["id"]) != mine]
            assert len(killed) >= 2  # the sync and the async script connection at least
            for call in (lambda: asyncio.to_thread(store.write_sync, WriteBatch(tasks(1)), T0),
                         lambda: store.write(WriteBatch(tasks(1)), T0)):
                try:
                    assert await call() == [True]
                except StoreError:
                    assert await call() == [True]  # reconnected
        assert (await store.counts(T0))["scheduled"] == 8
    finally:
        aux.close()
        await client(store).connection_pool.disconnect()  # killed too: fresh ones to clean up


async def test_cancelled_script_call_leaves_no_reply_behind(store: RedisStore) -> None:
    await store.write(WriteBatch(tasks(5)), T0)
    cancelled = 0
    for spins in range(1, 40):
        pending = asyncio.create_task(store.claim("w", "t", T0 - 10, None, LEASE))
        for _ in range(spins % 4 + 1):
            await asyncio.sleep(0)  # sending, or waiting for the reply
        pending.cancel()
        try:
            assert await pending == []
        except asyncio.CancelledError:
            cancelled += 1
        # Had the connection gone back with the claim's reply unread, this would get it.
        assert (await store.counts(T0))["scheduled"] == 5
    assert cancelled > 0


async def test_pipelines_read_every_reply_in_order(store: RedisStore) -> None:
    """Nil and error replies included, buffered or not, so the connection stays in step."""
    from mel.stores.redis_direct import pack

    key = f"{{{store.namespace}}}:pipe"
    commands = [("SET", key, "v"), ("HGET", key + ":h", "missing"), ("HGET", key, "f"),
                ("GET", key), ("INCR", key + ":n")]
    packed = b"".join(pack(c) for c in commands)
    expected = [b"OK", None, "WRONGTYPE", b"v", 1]

    def check(replies: list[Any]) -> None:
        assert len(replies) == len(expected)
        for got, want in zip(replies, expected, strict=True):
            if want == "WRONGTYPE":
                assert isinstance(got, redis.ResponseError) and "WRONGTYPE" in str(got)
            else:
                assert got == want

    check(await store._state().direct.pipeline(packed, len(commands)))
    expected[-1] = 2
    check(await asyncio.to_thread(store._sync.pipeline, packed, len(commands)))
    # A reply far bigger than one socket read comes in pieces: buffered ones, then reads.
    big = "x" * 300_000
    replies = await store._state().direct.pipeline(
        pack(("SET", key, big)) + pack(("GET", key)) * 3 + pack(("GET", key + ":none")), 5)
    assert replies == [b"OK", big.encode(), big.encode(), big.encode(), None]
    assert await store._state().direct.call("GET", key + ":none") is None


async def test_cancelled_fresh_write_leaves_no_reply_behind(store: RedisStore) -> None:
    cancelled = 0
    for spins in range(1, 40):
        batch = WriteBatch([NewTask(new_id(), "default", T0, DATA, fresh=True)])
        pending = asyncio.create_task(store.write(batch, T0))
        for _ in range(spins % 4 + 1):
            await asyncio.sleep(0)
        pending.cancel()
        try:
            await pending
        except asyncio.CancelledError:
            cancelled += 1
        # Had the connection gone back with replies unread, this would read them.
        assert (await store._state().direct.call("PING")) == b"PONG"
    assert cancelled > 0


async def test_unreachable_server_raises_store_error() -> None:
    s = RedisStore("redis://127.0.0.1:1/15")
    with pytest.raises(StoreError) as info:
        await s.open()
    assert isinstance(info.value.__cause__, redis.exceptions.ConnectionError)
    with pytest.raises(StoreError):
        await s.claim("w", "t", T0, 1, LEASE)
    with pytest.raises(StoreError):
        await s.watch()
    await s.close()


async def test_used_from_several_event_loops(store: RedisStore) -> None:
    await store.write(WriteBatch([NewTask("a", "default", T0, "{}")]), T0)

    # a loop that ends before the store is closed (asyncio.run in a thread)
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(store.get("a"))))
    thread.start()
    thread.join()
    assert result and result[0] is not None

    # a loop that is still running in another thread when the store is closed
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    try:
        got = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(store.get("a"), loop))
        assert got is not None
        assert len(store._loops) == 2  # the closed loop was dropped on the way
        await store.close()
        assert store._loops == {}
        gc.collect()
        assert await store.get("a") is not None  # usable again after close
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join()
        loop.close()


@pytest.mark.parametrize("seed", [1, 2])
async def test_matches_the_memory_store_on_random_operations(store: RedisStore,
                                                              seed: int) -> None:
    """The reference store and Redis, driven alike, answer alike (due times are unique, as
    ties may be broken differently)."""
    import random

    from mel.stores.memory import MemoryStore

    rng = random.Random(seed)
    ref = MemoryStore()
    ids = [uuid.uuid4().hex for _ in range(6)] + ["x", "y", "zz:1", "ünï"]
    queues = ["default", "mail", "sms"]
    now = T0
    unique = iter(range(1, 10**6))
    tokens: list[tuple[str, str]] = []  # (id, token) pairs handed out, current or stale

    def due() -> int:
        return now + rng.randint(-5, 5) * 1000 + next(unique)

    def failed_record(task_id: str) -> FailedTask:
        return FailedTask(task_id, rng.choice(queues), "{}", rng.randint(0, 3), "err", "tb",
                          now, rng.choice([None, now + rng.randint(1, 20) * 1000]))

    for step in range(1000):
        op = rng.choice(["write", "write", "claim", "claim", "finish", "finish", "renew",
                         "release_worker", "cancel", "requeue", "purge", "tick"])
        if op == "tick":
            now += rng.randint(0, 15_000)
            continue
        if op == "write":
            batch = WriteBatch(
                [NewTask(rng.choice(ids), rng.choice(queues), due(), f'{{"n":{step}}}',
                         rng.random() < 0.3) for _ in range(rng.randint(1, 4))],
                [ProgressRecord(rng.choice(["p", "q"]), "d", rng.randint(-1, 100),
                                rng.choice([None, now + 5000]))] if rng.random() < 0.2 else [],
            )
            calls: tuple[Any, ...] = ("write", batch, now)
        elif op == "claim":
            token = f"tok{step}"
            qs = rng.choice([None, None, ["mail"], ["default", "sms"], []])
            calls = ("claim", f"w{rng.randint(0, 2)}", token, now, rng.choice([None, 1, 2, 5]),
                     LEASE, qs)
        elif op == "finish":
            if not tokens:
                continue
            outcomes: list[Any] = []
            for task_id, token in rng.sample(tokens, min(len(tokens), rng.randint(1, 3))):
                outcomes.append(rng.choice([
                    Delete(task_id, token),
                    Reschedule(task_id, token, due(), rng.randint(0, 3), f'"r{step}"'),
                    Fail(task_id, token, failed_record(task_id)),
                    Release(task_id, token),
                ]))
            calls = ("finish", outcomes, now)
        elif op == "renew":
            calls = ("renew", rng.sample(tokens, min(len(tokens), 3)), now, LEASE)
        elif op == "release_worker":
            calls = ("release_worker", f"w{rng.randint(0, 2)}")
        elif op == "cancel":
            calls = ("cancel", rng.choice(ids))
        elif op == "requeue":
            calls = ("requeue_failed", rng.choice(ids), due(), f'"q{step}"', now)
        else:
            calls = ("purge_failed", now)
        name, *args = calls
        expected = await getattr(ref, name)(*args)
        got = await getattr(store, name)(*args)
        assert got == expected, (step, calls)
        if name == "claim":
            tokens += [(c.id, c.token) for c in got]
            tokens = tokens[-12:]
        reads: list[tuple[str, tuple[Any, ...]]] = [
            ("list_tasks", ()), ("list_tasks", ("mail", 2)), ("list_failed", (now,)),
            ("list_failed", (now, 1)), ("counts", (now,)), ("next_due_ms", ()),
            ("next_due_ms", (["sms"],)), ("get_progress", (["p", "q"], now)),
        ]
        for read, read_args in reads:
            assert (await getattr(store, read)(*read_args)
                    == await getattr(ref, read)(*read_args)), (step, calls, read)


async def test_ties_are_listed_in_id_order(store: RedisStore) -> None:
    # Stored ids of hex tasks start with byte 0xFF, so the sorted sets order ties by bytes
    # that are not the ids' order: listings must still agree with the memory store.
    hex_id = "0" * 31 + "1"
    await store.write(WriteBatch([NewTask(i, "default", T0, "{}") for i in ("zz", hex_id, "b")]),
                      T0)
    assert [t.id for t in await store.list_tasks(limit=1)] == [hex_id]
    assert [t.id for t in await store.list_tasks()] == [hex_id, "b", "zz"]
    claimed = await store.claim("w", "t", T0, None, LEASE)
    await store.finish([Fail(c.id, "t", FailedTask(c.id, "default", "{}", 1, "e", "tb", T0,
                                                   None)) for c in claimed], T0)
    assert [r.id for r in await store.list_failed(T0, limit=2)] == [hex_id, "b"]
