"""SQLiteStore: the embedded default store, one database file shared by this machine's processes.

Durable (WAL journal, ``synchronous=NORMAL``) and safe for several worker processes on one
file: every write runs in a ``BEGIN IMMEDIATE`` transaction, so writers queue on SQLite's
write lock (waiting up to ``timeout`` seconds) and a claim's read-and-lease is atomic.

``sqlite3`` blocks, so each store object keeps its connection on one thread of its own and
every call is handed to that thread; any event loop may await it. The layout is documented
in ``docs/sqlite-layout.md`` so other programs can enqueue tasks.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from mel.errors import SchemaError, StoreError
from mel.stores.base import (
    Claimed,
    Delete,
    Fail,
    FailedTask,
    Outcome,
    ProgressRecord,
    Release,
    Reschedule,
    Store,
    StoredTask,
    TaskState,
    WriteBatch,
)

T = TypeVar("T")

#: The schema version this code writes and understands (``mel_meta.schema_version``).
SCHEMA_VERSION = 1

# Each entry upgrades the schema from version N (its index) to N + 1.
_MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE IF NOT EXISTS mel_meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        # seq is the rowid made explicit: a stable tie-break between tasks due in the same
        # millisecond (first written, first claimed) that VACUUM may not renumber.
        """CREATE TABLE IF NOT EXISTS mel_tasks (
            seq         INTEGER PRIMARY KEY,
            id          TEXT    NOT NULL UNIQUE,
            queue       TEXT    NOT NULL DEFAULT 'default',
            due         INTEGER NOT NULL,
            attempts    INTEGER NOT NULL DEFAULT 0,
            data        TEXT    NOT NULL,
            lease_until INTEGER,
            owner       TEXT,
            token       TEXT
        )""",
        # Claims and next_due_ms read free tasks in due order; running tasks stay out of
        # these indexes, and far-future tasks are never reached by a claim.
        "CREATE INDEX IF NOT EXISTS mel_tasks_free ON mel_tasks (due) WHERE lease_until IS NULL",
        # The same per queue, for workers that serve only some queues.
        """CREATE INDEX IF NOT EXISTS mel_tasks_free_queue ON mel_tasks (queue, due)
            WHERE lease_until IS NULL""",
        # Lapsed leases (a crashed worker), next_due_ms of running tasks, release_worker.
        """CREATE INDEX IF NOT EXISTS mel_tasks_leased ON mel_tasks (lease_until)
            WHERE lease_until IS NOT NULL""",
        """CREATE TABLE IF NOT EXISTS mel_failed (
            id         TEXT    PRIMARY KEY,
            queue      TEXT    NOT NULL,
            data       TEXT    NOT NULL,
            attempts   INTEGER NOT NULL,
            error      TEXT    NOT NULL,
            traceback  TEXT    NOT NULL,
            failed_at  INTEGER NOT NULL,
            expires_at INTEGER
        )""",
        "CREATE INDEX IF NOT EXISTS mel_failed_latest ON mel_failed (failed_at DESC, id)",
        """CREATE INDEX IF NOT EXISTS mel_failed_expiry ON mel_failed (expires_at)
            WHERE expires_at IS NOT NULL""",
        """CREATE TABLE IF NOT EXISTS mel_progress (
            id          TEXT    PRIMARY KEY,
            description TEXT    NOT NULL,
            value       INTEGER NOT NULL,
            expires_at  INTEGER
        )""",
        """CREATE INDEX IF NOT EXISTS mel_progress_expiry ON mel_progress (expires_at)
            WHERE expires_at IS NOT NULL""",
    ],
]
assert len(_MIGRATIONS) == SCHEMA_VERSION

# Past this many queues a claim filters with one IN list instead of one index walk per queue
# (SQLite caps compound SELECTs at 500 terms).
_MAX_QUEUE_UNION = 64

_TASK_COLUMNS = "id, queue, due, attempts, data, lease_until, owner"
_FAILED_COLUMNS = "id, queue, data, attempts, error, traceback, failed_at, expires_at"
_ALIVE = "(expires_at IS NULL OR expires_at > ?)"


class _Connection:
    """One connection and the single thread that owns it.

    Kept apart from the store so that ``close()`` retires both together: a call queued on a
    retired thread fails cleanly instead of quietly reopening a connection nobody closes.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mel-sqlite")
        self.conn: sqlite3.Connection | None = None
        self.closed = False

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on this thread's connection (opening it first), as a StoreError on failure."""
        if self.closed:
            raise StoreError(f"SQLite store {self.path!r} was closed")
        try:
            if self.conn is None:
                self.conn = self._connect()
            return fn(self.conn)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def close(self) -> None:
        """Close the connection; this thread then refuses further calls."""
        self.closed = True
        if self.conn is not None:
            conn, self.conn = self.conn, None
            try:
                conn.close()
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> StoreError:
        message = str(exc)
        if "locked" in message or "busy" in message:
            message += (
                f" (another connection held the write lock for longer than {self.timeout}s)"
            )
        return StoreError(f"SQLite store {self.path!r}: {type(exc).__name__}: {message}")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; every write opens its own
        # BEGIN IMMEDIATE, so the write lock is taken before anything is read.
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal" and self.path != ":memory:":
                raise StoreError(f"SQLite store {self.path!r}: cannot switch to WAL ({mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            # An embedded store should just work: a new (or older) file gets its tables here.
            _migrate(conn, self.path)
        except BaseException:
            conn.close()
            raise
        return conn


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction: takes the write lock first, commits or rolls back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # some errors have rolled back already
            with suppress(sqlite3.Error):  # keep the original error
                conn.execute("ROLLBACK")
        raise


def _schema_version(conn: sqlite3.Connection) -> int:
    if conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mel_meta'"
    ).fetchone() is None:
        return 0
    row = conn.execute("SELECT value FROM mel_meta WHERE key = 'schema_version'").fetchone()
    return 0 if row is None else int(row[0])


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the file to SCHEMA_VERSION; refuse a file written by a newer Mel."""
    version = _schema_version(conn)
    if version == SCHEMA_VERSION:
        return  # the common case: no write lock taken
    if version < SCHEMA_VERSION:
        with _immediate(conn):
            version = _schema_version(conn)  # another process may have migrated meanwhile
            for steps in _MIGRATIONS[version:]:
                for statement in steps:
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(
                    "INSERT OR REPLACE INTO mel_meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"SQLite store {path!r} has schema version {version}, newer than the version "
            f"{SCHEMA_VERSION} this Mel knows; upgrade Mel"
        )


def _json_list(values: Sequence[str]) -> str:
    # Lists of any length go in as one JSON parameter (read back with json_each), so no
    # statement ever nears SQLite's limit on bound variables.
    return json.dumps(list(values))


def _sql_limit(limit: int | None) -> int:
    return -1 if limit is None else max(limit, 0)  # LIMIT -1 is SQLite's "no limit"


def _stored(row: tuple[Any, ...]) -> StoredTask:
    return StoredTask(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


def _failed(row: tuple[Any, ...]) -> FailedTask:
    return FailedTask(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7])


class SQLiteStore(Store):
    """Tasks in one SQLite database file (see ``docs/sqlite-layout.md``).

    ``timeout`` is how many seconds a write waits for another connection's write lock
    before it fails with :class:`~mel.errors.StoreError`. Calls from one store object run
    one at a time on a thread of its own; processes share the file safely.
    """

    cross_process_wakeups = False

    def __init__(self, path: str, *, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._lock = threading.Lock()
        self._connection: _Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def _connected(self) -> _Connection:
        with self._lock:  # the store may be used from several loops, hence threads
            if self._connection is None:
                self._connection = _Connection(self.path, self.timeout)
            return self._connection

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._connected()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(connection.executor, connection.call, fn)

    def _run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._connected()
        return connection.executor.submit(connection.call, fn).result()

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, switch the file to WAL and create or check the schema.

        Raises :class:`~mel.errors.SchemaError` if the file was written by a newer Mel.
        """
        await self._run(lambda conn: None)

    async def close(self) -> None:
        """Close the connection and stop its thread; ``open()`` (or any call) reconnects."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(connection.executor, connection.close)
        finally:
            connection.executor.shutdown(wait=False)

    async def migrate(self) -> None:
        """Create or upgrade the tables; idempotent (``open()`` already does it)."""
        await self._run(lambda conn: _migrate(conn, self.path))

    # -- writes -------------------------------------------------------------------------

    async def write(self, batch: WriteBatch, now_ms: int) -> list[bool]:
        """Store the batch in one transaction; existing ids are refused unless forced."""
        return self._written(batch, await self._run(lambda conn: _write(conn, batch)))

    def write_sync(self, batch: WriteBatch, now_ms: int) -> list[bool]:
        """Blocking twin of :meth:`write`: one hop to the store's thread, no event loop."""
        return self._written(batch, self._run_sync(lambda conn: _write(conn, batch)))

    def _written(self, batch: WriteBatch, results: list[bool]) -> list[bool]:
        dues = [t.due_ms for t, ok in zip(batch.tasks, results, strict=True) if ok]
        if dues:
            self._notify_local(min(dues))
        return results

    async def claim(
        self,
        worker_id: str,
        token: str,
        now_ms: int,
        limit: int | None,
        lease_ms: int,
        queues: Sequence[str] | None = None,
    ) -> list[Claimed]:
        """Lease the earliest due free tasks in one transaction (one UPDATE ... RETURNING)."""
        sql_limit = _sql_limit(limit)
        params: list[Any] = [now_ms + lease_ms, worker_id, token]
        free = "lease_until IS NULL AND due <= ?"
        if queues is None:
            pick = f"SELECT seq FROM mel_tasks WHERE {free} ORDER BY due, seq LIMIT ?"
            params += [now_ms, sql_limit]
        elif not queues:
            pick = "SELECT seq FROM mel_tasks WHERE 0"
        elif len(set(queues)) <= _MAX_QUEUE_UNION:
            # One short index walk per queue, merged: never walks past other queues' backlog.
            names = sorted(set(queues))
            per_queue = (
                f"SELECT * FROM (SELECT seq, due FROM mel_tasks WHERE {free} AND queue = ?"
                " ORDER BY due, seq LIMIT ?)"
            )
            pick = (
                f"SELECT seq FROM ({' UNION ALL '.join([per_queue] * len(names))})"
                " ORDER BY due, seq LIMIT ?"
            )
            for name in names:
                params += [now_ms, name, sql_limit]
            params.append(sql_limit)
        else:
            pick = (
                f"SELECT seq FROM mel_tasks WHERE {free} AND queue IN"
                " (SELECT value FROM json_each(?)) ORDER BY due, seq LIMIT ?"
            )
            params += [now_ms, _json_list(queues), sql_limit]
        statement = (
            "UPDATE mel_tasks SET lease_until = ?, owner = ?, token = ?"
            f" WHERE seq IN ({pick}) RETURNING seq, id, queue, due, attempts, data"
        )

        def run(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            with _immediate(conn):
                # Lapsed leases become free tasks again (their owner died or hung); the token
                # stays, so the old owner may still finish while nobody has claimed it anew.
                conn.execute(
                    "UPDATE mel_tasks SET lease_until = NULL, owner = NULL"
                    " WHERE lease_until IS NOT NULL AND lease_until <= ?",
                    (now_ms,),
                )
                return conn.execute(statement, params).fetchall()

        rows = await self._run(run)
        rows.sort(key=lambda r: (r[3], r[0]))  # RETURNING order is unspecified
        return [Claimed(r[1], r[2], r[3], r[4], r[5], token) for r in rows]

    async def renew(
        self, tokens: Sequence[tuple[str, str]], now_ms: int, lease_ms: int
    ) -> set[str]:
        """Extend, in one statement, the leases still held under their tokens."""
        if not tokens:
            return set()
        pairs = json.dumps([list(pair) for pair in tokens])

        def run(conn: sqlite3.Connection) -> set[str]:
            with _immediate(conn):
                rows = conn.execute(
                    "UPDATE mel_tasks SET lease_until = ? FROM"
                    " (SELECT value ->> 0 AS id, value ->> 1 AS token FROM json_each(?)) AS held"
                    " WHERE mel_tasks.id = held.id AND mel_tasks.token = held.token"
                    " RETURNING mel_tasks.id",
                    (now_ms + lease_ms, pairs),
                ).fetchall()
            return {row[0] for row in rows}

        return await self._run(run)

    async def finish(self, outcomes: Sequence[Outcome], now_ms: int) -> list[bool]:
        """Apply the fenced outcomes in one transaction."""

        def run(conn: sqlite3.Connection) -> tuple[list[bool], int | None]:
            with _immediate(conn):
                held: dict[str, tuple[str | None, int]] = {
                    row[0]: (row[1], row[2])
                    for row in conn.execute(
                        "SELECT id, token, due FROM mel_tasks"
                        " WHERE id IN (SELECT value FROM json_each(?))",
                        (_json_list([o.id for o in outcomes]),),
                    )
                }
                results: list[bool] = []
                deletes: list[tuple[str]] = []
                failed: list[tuple[Any, ...]] = []
                reschedules: list[tuple[Any, ...]] = []
                releases: list[tuple[str]] = []
                earliest: int | None = None
                for o in outcomes:
                    token, due = held.get(o.id, (None, 0))
                    if token is None or token != o.token:
                        results.append(False)
                        continue
                    # An applied outcome clears the token, so at most one outcome per id
                    # applies and the grouped statements below cannot conflict.
                    held[o.id] = (None, due)
                    results.append(True)
                    if isinstance(o, Delete):
                        deletes.append((o.id,))
                    elif isinstance(o, Fail):
                        deletes.append((o.id,))
                        r = o.record
                        failed.append((o.id, r.queue, r.data, r.attempts, r.error, r.traceback,
                                       r.failed_ms, r.expires_ms))
                    elif isinstance(o, Reschedule):
                        reschedules.append((o.due_ms, o.attempts, o.data, o.id))
                        earliest = o.due_ms if earliest is None else min(earliest, o.due_ms)
                    else:
                        assert isinstance(o, Release)
                        releases.append((o.id,))
                        earliest = due if earliest is None else min(earliest, due)
                if deletes:
                    conn.executemany("DELETE FROM mel_tasks WHERE id = ?", deletes)
                if failed:
                    conn.executemany(
                        f"INSERT OR REPLACE INTO mel_failed ({_FAILED_COLUMNS})"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        failed,
                    )
                if reschedules:
                    conn.executemany(
                        "UPDATE mel_tasks SET due = ?, attempts = ?, data = ?,"
                        " lease_until = NULL, owner = NULL, token = NULL WHERE id = ?",
                        reschedules,
                    )
                if releases:
                    conn.executemany(
                        "UPDATE mel_tasks SET lease_until = NULL, owner = NULL, token = NULL"
                        " WHERE id = ?",
                        releases,
                    )
                return results, earliest

        if not outcomes:
            return []
        results, earliest = await self._run(run)
        if earliest is not None:
            self._notify_local(earliest)
        return results

    # -- reads --------------------------------------------------------------------------

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self._run(lambda conn: conn.execute(sql, params).fetchall())

    async def next_due_ms(self, queues: Sequence[str] | None = None) -> int | None:
        """The earliest due time of a free task or lease expiry of a leased one."""
        # The aggregate min() skips NULLs (no task of a kind); the scalar min(a, b) would not.
        value: int | None
        if queues is None:
            value = (await self._rows(
                "SELECT min(t) FROM (SELECT (SELECT due FROM mel_tasks WHERE lease_until IS NULL"
                " ORDER BY due LIMIT 1) AS t UNION ALL SELECT min(lease_until) FROM mel_tasks"
                " WHERE lease_until IS NOT NULL)"
            ))[0][0]
            return value
        # One index probe per queue; running tasks are few, so scanning them is cheap.
        value = (await self._rows(
            "SELECT min(t) FROM (SELECT (SELECT due FROM mel_tasks WHERE lease_until IS NULL"
            " AND queue = q.value ORDER BY due LIMIT 1) AS t FROM json_each(?1) AS q"
            " UNION ALL SELECT min(lease_until) FROM mel_tasks WHERE lease_until IS NOT NULL"
            " AND queue IN (SELECT value FROM json_each(?1)))",
            (_json_list(queues),),
        ))[0][0]
        return value

    async def get(self, task_id: str) -> StoredTask | None:
        """The task with this id."""
        rows = await self._rows(f"SELECT {_TASK_COLUMNS} FROM mel_tasks WHERE id = ?", (task_id,))
        return _stored(rows[0]) if rows else None

    async def get_failed(self, task_id: str, now_ms: int) -> FailedTask | None:
        """The unexpired failed record with this id."""
        rows = await self._rows(
            f"SELECT {_FAILED_COLUMNS} FROM mel_failed WHERE id = ? AND {_ALIVE}",
            (task_id, now_ms),
        )
        return _failed(rows[0]) if rows else None

    async def list_tasks(
        self, queue: str | None = None, limit: int | None = None
    ) -> list[StoredTask]:
        """Tasks sorted by due time, then id."""
        where = "" if queue is None else "WHERE queue = ?"
        params: list[Any] = [] if queue is None else [queue]
        params.append(_sql_limit(limit))
        rows = await self._rows(
            f"SELECT {_TASK_COLUMNS} FROM mel_tasks {where} ORDER BY due, id LIMIT ?", params
        )
        return [_stored(row) for row in rows]

    async def list_failed(self, now_ms: int, limit: int | None = None) -> list[FailedTask]:
        """Unexpired failed records, latest first."""
        rows = await self._rows(
            f"SELECT {_FAILED_COLUMNS} FROM mel_failed WHERE {_ALIVE}"
            " ORDER BY failed_at DESC, id LIMIT ?",
            (now_ms, _sql_limit(limit)),
        )
        return [_failed(row) for row in rows]

    async def counts(self, now_ms: int) -> dict[TaskState, int]:
        """Count by state, in one statement (one consistent snapshot)."""
        ((running, retrying, total, failed),) = await self._rows(
            "SELECT count(*) FILTER (WHERE lease_until > ?1),"
            " count(*) FILTER (WHERE (lease_until IS NULL OR lease_until <= ?1) AND attempts > 0),"
            " count(*),"
            " (SELECT count(*) FROM mel_failed WHERE expires_at IS NULL OR expires_at > ?1)"
            " FROM mel_tasks",
            (now_ms,),
        )
        return {
            "scheduled": total - running - retrying,
            "running": running,
            "retrying": retrying,
            "failed": failed,
        }

    async def get_progress(self, ids: Sequence[str], now_ms: int) -> list[ProgressRecord]:
        """Unexpired progress among ``ids``, in the order asked."""
        if not ids:
            return []
        rows = await self._rows(
            "SELECT id, description, value, expires_at FROM mel_progress"
            f" WHERE id IN (SELECT value FROM json_each(?)) AND {_ALIVE}",
            (_json_list(ids), now_ms),
        )
        found = {row[0]: ProgressRecord(*row) for row in rows}
        return [found[i] for i in ids if i in found]

    # -- management ---------------------------------------------------------------------

    async def _changes(self, *statements: tuple[str, Sequence[Any]]) -> list[int]:
        """Run ``statements`` in one write transaction; return their row counts."""

        def run(conn: sqlite3.Connection) -> list[int]:
            with _immediate(conn):
                return [conn.execute(sql, params).rowcount for sql, params in statements]

        return await self._run(run)

    async def release_worker(self, worker_id: str) -> int:
        """Free every lease held by ``worker_id``."""
        (freed,) = await self._changes((
            "UPDATE mel_tasks SET lease_until = NULL, owner = NULL, token = NULL"
            " WHERE lease_until IS NOT NULL AND owner = ?",
            (worker_id,),
        ))
        return freed

    async def cancel(self, task_id: str) -> bool:
        """Remove the task and its failed record."""
        removed = await self._changes(
            ("DELETE FROM mel_tasks WHERE id = ?", (task_id,)),
            ("DELETE FROM mel_failed WHERE id = ?", (task_id,)),
        )
        return sum(removed) > 0

    async def requeue_failed(self, task_id: str, due_ms: int, data: str, now_ms: int) -> bool:
        """Move an unexpired failed record back to the schedule."""
        def run(conn: sqlite3.Connection) -> bool:
            with _immediate(conn):
                # Copies the record only if it is alive and no task has this id.
                moved = conn.execute(
                    "INSERT INTO mel_tasks (id, queue, due, data) SELECT id, queue, ?, ?"
                    f" FROM mel_failed WHERE id = ? AND {_ALIVE}"
                    " AND NOT EXISTS (SELECT 1 FROM mel_tasks WHERE id = ?)",
                    (due_ms, data, task_id, now_ms, task_id),
                ).rowcount
                if moved:
                    conn.execute("DELETE FROM mel_failed WHERE id = ?", (task_id,))
            return moved > 0

        if moved := await self._run(run):
            self._notify_local(due_ms)
        return moved

    async def purge_failed(self, now_ms: int) -> int:
        """Delete expired failed records (and expired progress); return how many records."""
        dead, _ = await self._changes(
            ("DELETE FROM mel_failed WHERE expires_at IS NOT NULL AND expires_at <= ?", (now_ms,)),
            ("DELETE FROM mel_progress WHERE expires_at IS NOT NULL AND expires_at <= ?",
             (now_ms,)),
        )
        return dead

    async def truncate(self) -> None:
        """Delete every task, failed record and progress record (the schema stays)."""
        await self._changes(
            *((f"DELETE FROM {table}", ()) for table in ("mel_tasks", "mel_failed", "mel_progress"))
        )


def _write(conn: sqlite3.Connection, batch: WriteBatch) -> list[bool]:
    """Store a batch in one transaction; existing ids are refused unless forced."""
    with _immediate(conn):
        if not batch.tasks:
            existing: set[str] = set()
        else:
            existing = {
                row[0]
                for row in conn.execute(
                    "SELECT id FROM mel_tasks WHERE id IN (SELECT value FROM json_each(?))",
                    (_json_list([t.id for t in batch.tasks]),),
                )
            }
        # Decide in Python, in batch order, so duplicates inside the batch behave
        # exactly as one-by-one writes would; then apply the survivors in bulk.
        results: list[bool] = []
        replaced: list[tuple[str]] = []
        final: dict[str, tuple[str, str, int, str]] = {}
        for t in batch.tasks:
            seen = t.id in existing or t.id in final
            if seen and not t.force:
                results.append(False)
                continue
            if t.id in existing:
                replaced.append((t.id,))
                existing.discard(t.id)
            final.pop(t.id, None)  # re-inserted last: a forced write is newest
            final[t.id] = (t.id, t.queue, t.due_ms, t.data)
            results.append(True)
        if replaced:
            conn.executemany("DELETE FROM mel_tasks WHERE id = ?", replaced)
        if final:
            conn.executemany(
                "INSERT INTO mel_tasks (id, queue, due, data) VALUES (?, ?, ?, ?)",
                final.values(),
            )
        if batch.progress:
            conn.executemany(
                "INSERT OR REPLACE INTO mel_progress (id, description, value, expires_at)"
                " VALUES (?, ?, ?, ?)",
                [(p.id, p.description, p.value, p.expires_ms) for p in batch.progress],
            )
        return results
