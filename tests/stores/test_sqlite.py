"""SQLiteStore specifics: pragmas, schema versions, reopening, real processes, big tables.

The shared contract suite (test_contract.py) already runs against SQLiteStore; these tests
cover what only a file-backed, multi-process store has.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from mel.errors import SchemaError, StoreError
from mel.stores.base import (
    Delete,
    Fail,
    FailedTask,
    NewTask,
    Outcome,
    Release,
    Reschedule,
    Store,
    WriteBatch,
)
from mel.stores.memory import MemoryStore
from mel.stores.sqlite import SCHEMA_VERSION, SQLiteStore

T0 = 1_800_000_000_000
LEASE = 30_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(str(tmp_path / "mel.db"))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def raw(path: str) -> closing[sqlite3.Connection]:
    """A plain connection, as another program would open one (closed on leaving ``with``)."""
    return closing(sqlite3.connect(path, isolation_level=None))


async def test_pragmas_wal_normal_busy_timeout(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "mel.db"), timeout=2.5)
    await store.open()
    try:
        pragmas = await store._run(
            lambda c: [c.execute(f"PRAGMA {p}").fetchone()[0]
                       for p in ("journal_mode", "synchronous", "busy_timeout")]
        )
        assert pragmas == ["wal", 1, 2500]  # synchronous 1 is NORMAL
    finally:
        await store.close()
    with raw(store.path) as conn:  # WAL is a property of the file: other programs see it
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_open_creates_the_schema_and_migrate_is_idempotent(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "new.db"))
    await store.open()  # no migrate(): an embedded store just works
    await store.write(WriteBatch([NewTask("a", "default", T0, "{}")]), T0)
    await store.migrate()
    await store.migrate()
    assert await store.get("a") is not None
    await store.close()
    with raw(store.path) as conn:
        version = conn.execute("SELECT value FROM mel_meta WHERE key = 'schema_version'")
        assert version.fetchone() == (str(SCHEMA_VERSION),)


async def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = str(tmp_path / "mel.db")
    store = SQLiteStore(path)
    await store.open()
    await store.close()
    with raw(path) as conn:
        conn.execute("UPDATE mel_meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION + 1),))
    newer = SQLiteStore(path)
    with pytest.raises(SchemaError, match="newer"):
        await newer.open()
    with pytest.raises(SchemaError):
        await newer.migrate()
    await newer.close()


async def test_reopen_after_close(db: SQLiteStore) -> None:
    await db.write(WriteBatch([NewTask("a", "default", T0, "{}")]), T0)
    await db.close()
    await db.close()  # idempotent
    await db.open()
    assert await db.get("a") is not None
    await db.close()
    assert await db.get("a") is not None  # any call reconnects, like open()


async def test_persists_across_store_objects(tmp_path: Path) -> None:
    path = str(tmp_path / "mel.db")
    first, second = SQLiteStore(path), SQLiteStore(path)
    try:
        await first.write(WriteBatch([NewTask("a", "mail", T0 - 1, '{"j":"x","p":{}}')]), T0)
        (claimed,) = await second.claim("w2", "tok", T0, None, LEASE)
        assert (claimed.id, claimed.queue, claimed.data) == ("a", "mail", '{"j":"x","p":{}}')
        got = await first.get("a")
        assert got is not None and got.owner == "w2"
        assert await first.finish([Delete("a", "tok")], T0) == [True]
        assert await second.get("a") is None
    finally:
        await first.close()
        await second.close()


async def test_enqueue_from_another_program(db: SQLiteStore) -> None:
    # The statement docs/sqlite-layout.md gives to other programs.
    with raw(db.path) as conn:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO mel_tasks (id, queue, due, data) VALUES (?, 'default',"
            " CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), ?)"
            " ON CONFLICT (id) DO NOTHING",
            ("ext-1", '{"j":"send_report","p":{"day":"2027-01-15"}}'),
        )
        conn.execute("COMMIT")
    (claimed,) = await db.claim("w", "t", int(time.time() * 1000) + 1000, None, LEASE)
    assert (claimed.id, claimed.attempts) == ("ext-1", 0)


async def test_locked_database_is_a_store_error(tmp_path: Path) -> None:
    path = str(tmp_path / "mel.db")
    store = SQLiteStore(path, timeout=0.1)
    await store.open()
    try:
        with raw(path) as blocker:
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match="locked"):
                await store.write(WriteBatch([NewTask("a", "default", T0, "{}")]), T0)
            blocker.execute("ROLLBACK")
        assert await store.write(WriteBatch([NewTask("a", "default", T0, "{}")]), T0) == [True]
    finally:
        await store.close()


async def test_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "missing-dir" / "mel.db"))
    with pytest.raises(StoreError):
        await store.open()
    await store.close()


async def test_usable_from_another_event_loop(db: SQLiteStore) -> None:
    # The sync API drives the store from a private loop on another thread.
    await db.write(WriteBatch([NewTask("a", "default", T0, "{}")]), T0)
    seen: list[object] = []
    thread = threading.Thread(target=lambda: seen.append(asyncio.run(db.get("a"))))
    thread.start()
    thread.join(10)
    assert len(seen) == 1 and seen[0] is not None


# -- the same answers as MemoryStore --------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_matches_memory_store_on_random_operations(db: SQLiteStore, seed: int) -> None:
    """A random mix of operations gives the same results on both stores.

    Due times never repeat: the stores may order tasks due in the same millisecond
    differently (MemoryStore: first freed first; SQLiteStore: first written first).
    """
    rnd = random.Random(seed)
    memory: Store = MemoryStore()
    await db.truncate()
    now, dues, tokens = T0, iter(rnd.sample(range(T0 - 50_000, T0 + 200_000), 5000)), 0
    held: list[tuple[str, str]] = []

    async def both(name: str, *args: Any) -> Any:
        expected = await getattr(memory, name)(*args)
        actual = await getattr(db, name)(*args)
        assert actual == expected, (name, args)
        return expected

    for _ in range(600):
        now += rnd.randrange(0, 4000)
        ids = [f"t{rnd.randrange(25)}" for _ in range(rnd.randrange(1, 5))]
        op = rnd.randrange(9)
        if op <= 1:
            tasks = [NewTask(i, rnd.choice("ab"), next(dues), f'{{"n":{rnd.random()}}}',
                             rnd.random() < 0.2) for i in ids]
            await both("write", WriteBatch(tasks), now)
        elif op == 2:
            tokens += 1
            limit = rnd.choice([None, 1, 2, 5])
            queues = rnd.choice([None, ["a"], ["b", "c"], []])
            got = await both("claim", f"w{rnd.randrange(3)}", f"k{tokens}", now, limit,
                             rnd.randrange(1000, 20_000), queues)
            held += [(c.id, c.token) for c in got]
        elif op == 3 and held:
            outcomes: list[Outcome] = []
            for task_id, token in rnd.sample(held, min(len(held), 3)):
                kind = rnd.randrange(4)
                if kind == 0:
                    outcomes.append(Delete(task_id, token))
                elif kind == 1:
                    outcomes.append(Reschedule(task_id, token, next(dues), rnd.randrange(3), "r"))
                elif kind == 2:
                    outcomes.append(Release(task_id, token))
                else:
                    record = FailedTask(task_id, "a", "f", 1, "e", "tb", now,
                                        rnd.choice([None, now + rnd.randrange(1, 20_000)]))
                    outcomes.append(Fail(task_id, token, record))
            await both("finish", outcomes, now)
        elif op == 4 and held:
            await both("renew", rnd.sample(held, min(len(held), 3)), now,
                       rnd.randrange(1000, 20_000))
        elif op == 5:
            await both(rnd.choice(["cancel", "release_worker"]),
                       ids[0] if rnd.random() < 0.5 else f"w{rnd.randrange(3)}")
        elif op == 6:
            failed = [r.id for r in await memory.list_failed(now)] or ids
            await both("requeue_failed", rnd.choice(failed + ids[:1]), next(dues), "again", now)
        elif op == 7:
            await both("purge_failed", now)
        await both("list_tasks")
        await both("next_due_ms")
        await both("next_due_ms", ["a"])
        await both("counts", now)
        await both("list_failed", now)


# -- real processes and big tables ----------------------------------------------------

CLAIMER = """
import asyncio, sys, time
from mel.stores.base import Delete
from mel.stores.sqlite import SQLiteStore

async def main(path: str, name: str) -> None:
    store = SQLiteStore(path)
    await store.open()
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    ids, calls = [], 0
    while True:
        calls += 1
        now = int(time.time() * 1000)
        got = await store.claim(name, f"{name}-{calls}", now, 5, 60_000)
        if not got:
            break
        assert all(await store.finish([Delete(c.id, c.token) for c in got], now))
        ids += [c.id for c in got]
    await store.close()
    print("\\n".join(ids), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def _fill(path: str, count: int) -> None:
    store = SQLiteStore(path)
    await store.write(WriteBatch([NewTask(f"t{i}", "default", i, "{}") for i in range(count)]), 0)
    await store.close()


async def _next_due(path: str) -> int | None:
    store = SQLiteStore(path)
    try:
        return await store.next_due_ms()
    finally:
        await store.close()


@pytest.mark.slow
def test_processes_claim_each_task_exactly_once(tmp_path: Path) -> None:
    count, path = 2000, str(tmp_path / "mel.db")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, path, f"p{n}"], cwd=ROOT, env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for n in range(4)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n", (
                proc.communicate(timeout=10)[1]
            )
        asyncio.run(_fill(path, count))  # after the processes created the file together
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            outputs.append(out.split())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    every = [task_id for ids in outputs for task_id in ids]
    assert len(every) == count
    assert sorted(every) == sorted(f"t{i}" for i in range(count))
    assert sum(1 for ids in outputs if ids) >= 2, [len(ids) for ids in outputs]
    assert asyncio.run(_next_due(path)) is None


async def test_claim_stays_fast_with_a_million_future_tasks(db: SQLiteStore) -> None:
    future = 1_000_000
    with raw(db.path) as conn:  # bulk insert, as another program would enqueue
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO mel_tasks (id, queue, due, data)"
            " SELECT 'f' || i, iif(i % 2, 'default', 'bulk'), ? + i, '{}' FROM n",
            (future, T0 + 3_600_000),
        )
        conn.execute("COMMIT")
    due = [NewTask(f"d{i}", "default" if i % 4 else "mail", T0 - i, "{}") for i in range(2000)]
    assert all(await db.write(WriteBatch(due), T0))

    async def timed(call: Any) -> tuple[Any, float]:
        start = time.perf_counter()
        result = await call
        return result, time.perf_counter() - start

    timings: dict[str, float] = {}
    first, timings["claim 10"] = await timed(db.claim("w", "t1", T0, 10, LEASE))
    assert [c.due_ms for c in first] == [T0 - i for i in range(1999, 1989, -1)]
    mail, timings["claim mail"] = await timed(db.claim("w", "t2", T0, 10, LEASE, ["mail"]))
    assert len(mail) == 10 and {c.queue for c in mail} == {"mail"}
    rest, timings["claim rest"] = await timed(db.claim("w", "t3", T0, None, LEASE))
    assert len(rest) == 1980
    next_due, timings["next_due"] = await timed(db.next_due_ms())
    assert next_due == T0 + LEASE  # the leases just taken
    bulk, timings["next_due bulk"] = await timed(db.next_due_ms(["bulk"]))
    assert bulk == T0 + 3_600_002
    nothing, timings["next_due empty queue"] = await timed(db.next_due_ms(["none"]))
    assert nothing is None
    assert max(timings.values()) < 0.25, timings
