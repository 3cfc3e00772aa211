"""PostgresStore: tasks in PostgreSQL tables, claimed with SKIP LOCKED, woken by NOTIFY.

The namespace names a schema holding ``tasks``, ``failed``, ``progress`` and ``meta`` (the
schema version); the DDL is in ``postgres_v<N>.sql`` and docs/postgres-layout.md describes
it for programs in other languages. Several namespaces share one database.

Schema check: :meth:`PostgresStore.open` only connects (``mel migrate`` and the test suite
open a store *before* migrating it). The version check runs once per store object, before
its first other operation, and raises :class:`~mel.errors.SchemaError` when the schema is
missing, older or newer than this code; :meth:`PostgresStore.migrate` marks the store ready.

Connections: one small pool per event loop (a store object may serve the application's
loop and Mel's portal loop), in autocommit: an operation that is one statement runs alone
(one round trip), one of several statements in an explicit transaction.
Connection failures surface as :class:`~mel.errors.StoreError` so a worker backs off.

Unlike MemoryStore, a claim does not rewrite every lapsed lease: such a task keeps its
stale ``lease_until_ms`` and ``owner`` (it is free all the same) until claimed again, and
tasks due in the same millisecond that were freed together by lapsed leases or
:meth:`~PostgresStore.release_worker` may be claimed in another order than MemoryStore's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import threading
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from importlib import resources
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from mel.errors import ConfigurationError, SchemaError, StoreError, TransactionError
from mel.stores.base import (
    Claimed,
    Delete,
    Fail,
    FailedTask,
    NewTask,
    Outcome,
    ProgressRecord,
    Release,
    Reschedule,
    Store,
    StoredTask,
    TaskState,
    Watcher,
    WriteBatch,
)

#: the schema version this code reads and writes; ``migrate()`` upgrades older ones
SCHEMA_VERSION = 1

# 58 leaves room for the "_wake" channel suffix inside PostgreSQL's 63-byte names.
_NAMESPACE = re.compile(r"[A-Za-z0-9_]{1,58}")
_T = TypeVar("_T")
_Pool = AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]
_Rows = list[tuple[Any, ...]]
_Step = tuple[bytes, Sequence[Any]]
_Steps = Generator[_Step, _Rows, _T]

_QUEUE_FILTER = "AND queue = ANY(%(queues)s)"


def _render(namespace: str) -> dict[str, bytes]:
    """Every statement of postgres_queries.sql for one namespace, quoted once.

    A statement with a ``{queues}`` slot comes twice: ``name`` and ``name:queues``.
    """
    text = _sql_file("postgres_queries.sql")
    names = {t: sql.Identifier(namespace, t) for t in ("tasks", "failed", "progress", "meta")}
    out: dict[str, bytes] = {}
    for chunk in text.split("-- name: ")[1:]:
        key, _, body = chunk.partition("\n")
        for suffix, queues in (("", ""), (":queues", _QUEUE_FILTER)):
            if suffix and "{queues}" not in body:
                continue
            query = sql.SQL(body.strip()).format(
                schema=sql.Identifier(namespace), queues=sql.SQL(queues), **names
            )
            out[key.strip() + suffix] = query.as_bytes(None)
    return out


@functools.cache
def _sql_file(name: str) -> str:
    return resources.files("mel.stores").joinpath(name).read_text("utf-8")


def _migration(version: int, namespace: str) -> bytes:
    """The DDL taking a schema from ``version - 1`` to ``version``."""
    text = _sql_file(f"postgres_v{version}.sql")
    return sql.SQL(text).format(schema=sql.Identifier(namespace)).as_bytes(None)


def _failed(task: asyncio.Task[Any]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _redact(dsn: str) -> str:
    """The DSN without its password, for error messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _payload_ms(payload: str) -> int:
    # Anything but a number (another program's bare NOTIFY) means "something is due now".
    try:
        return int(payload)
    except ValueError:
        return 0


class PostgresStore(Store):
    """Tasks in PostgreSQL: ``PostgresStore("postgresql://...", namespace="mel")``.

    ``namespace`` (letters, digits, underscore) is the schema holding the tables;
    ``pool_size`` is the number of connections per event loop. Watchers listen on their
    own connection, so idle workers of every process wake within milliseconds of a write.
    """

    cross_process_wakeups = True

    def __init__(self, dsn: str, *, namespace: str = "mel", pool_size: int = 4) -> None:
        if dsn.partition("://")[0].lower() not in ("postgresql", "postgres"):
            raise ConfigurationError(f"PostgresStore needs a postgresql:// URL: {_redact(dsn)}")
        if not _NAMESPACE.fullmatch(namespace) or namespace.lower().startswith("pg_"):
            raise ConfigurationError(
                f"namespace {namespace!r} must be 1-58 letters, digits or underscores"
                " and must not start with pg_"
            )
        if pool_size < 1:
            raise ConfigurationError(f"pool_size must be at least 1, got {pool_size}")
        try:
            params = psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.Error as exc:
            raise ConfigurationError(f"bad PostgreSQL URL {_redact(dsn)!r}: {exc}") from exc
        self._dsn = dsn
        self._namespace = namespace
        self._pool_size = pool_size
        # Without a timeout an unroutable host would hang a worker instead of erroring;
        # the application name shows the namespace in pg_stat_activity.
        defaults: dict[str, Any] = {"connect_timeout": 10, "application_name": f"mel-{namespace}"}
        self._connect = {k: v for k, v in defaults.items() if k not in params}
        self._channel = f"{namespace}_wake"
        self._q = _render(namespace)
        self._lock = threading.Lock()
        self._pools: dict[asyncio.AbstractEventLoop, asyncio.Task[_Pool]] = {}
        self._listeners: dict[Watcher, asyncio.Task[None]] = {}
        self._checked = False

    def __repr__(self) -> str:
        return f"PostgresStore({_redact(self._dsn)!r}, namespace={self._namespace!r})"

    # -- connections ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn driver failures into Mel's errors (the worker retries on StoreError)."""
        try:
            yield
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
            self._checked = False
            raise SchemaError(self._schema_message("is missing")) from exc
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, PoolClosed) as exc:
            raise StoreError(f"PostgreSQL store {_redact(self._dsn)}: {exc}") from exc

    def _schema_message(self, problem: str) -> str:
        return (
            f"Mel's PostgreSQL schema {self._namespace!r} {problem}: "
            f"run `mel migrate --store URL` (namespace {self._namespace!r}) to create or "
            "upgrade it"
        )

    async def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        with self._lock:
            opening = self._pools.get(loop)
            if opening is None or _failed(opening):
                opening = loop.create_task(self._open_pool(), name="mel-postgres-pool")
                self._pools[loop] = opening
        if opening.done():
            return opening.result()
        # shielded: one caller's cancellation must not abort the pool others wait for
        return await asyncio.shield(opening)

    async def _open_pool(self) -> _Pool:
        # The pool retries a refused connection quietly until its timeout; one direct
        # connection first makes an unreachable server fail at once, with its reason.
        probe = await psycopg.AsyncConnection.connect(self._dsn, **self._connect)
        await probe.close()
        pool: _Pool = AsyncConnectionPool(
            self._dsn,
            min_size=self._pool_size,
            max_size=self._pool_size,
            # One statement is atomic by itself: in autocommit it costs one round trip,
            # where BEGIN and COMMIT around it cost three (measured 97 µs against 290 µs).
            kwargs={"autocommit": True, **self._connect},
            open=False,
            timeout=15.0,
            name=f"mel-{self._namespace}",
        )
        await pool.open(wait=True, timeout=15.0)
        return pool

    @contextlib.asynccontextmanager
    async def _cursor(self, *, transaction: bool
                      ) -> AsyncIterator[psycopg.AsyncCursor[TupleRow]]:
        """A cursor after the schema check: inside one transaction block, or for a single
        statement, which commits by itself (the pool's connections are in autocommit)."""
        with self._errors():
            await self._ready()
            pool = await self._pool()
            async with (
                pool.connection() as conn,
                conn.transaction() if transaction else contextlib.nullcontext(),
                conn.cursor() as cur,
            ):
                yield cur

    async def _fetch(self, key: str, params: Sequence[Any] | dict[str, Any]) -> _Rows:
        async with self._cursor(transaction=False) as cur:
            await cur.execute(self._q[key], params)
            return await cur.fetchall()

    async def open(self) -> None:
        """Connect (a pool for the running loop); the schema is checked on first use."""
        with self._errors():
            await self._pool()

    async def close(self) -> None:
        """Close every loop's pool and every watcher's connection; may be opened again."""
        current = asyncio.get_running_loop()
        with self._lock:
            pools, self._pools = self._pools, {}
            listeners, self._listeners = self._listeners, {}
        for task in listeners.values():
            if task.get_loop() is current:
                task.cancel()
            elif not task.get_loop().is_closed():
                task.get_loop().call_soon_threadsafe(task.cancel)
        for loop, opening in pools.items():
            if not opening.done() or _failed(opening):
                opening.cancel()  # a failed or unfinished open holds no connections
                continue
            if loop is current:
                await opening.result().close()
            elif loop.is_running():
                future = asyncio.run_coroutine_threadsafe(opening.result().close(), loop)
                await asyncio.wrap_future(future)
        for task in listeners.values():
            if task.get_loop() is current:
                await asyncio.wait({task})

    # -- schema ---------------------------------------------------------------------------

    def _version_steps(self) -> _Steps[int | None]:
        """The stored schema version (None: no meta table)."""
        meta = sql.Identifier(self._namespace, "meta").as_string(None)
        (row,) = yield self._q["has_meta"], (meta,)
        if not row[0]:
            return None
        rows = yield self._q["version"], ()
        return int(rows[0][0]) if rows else 0

    def _check_version(self, version: int | None) -> None:
        if not version or version < SCHEMA_VERSION:
            older = f"is at version {version}, older than {SCHEMA_VERSION}"
            raise SchemaError(self._schema_message(older if version else "is missing"))
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"Mel's PostgreSQL schema {self._namespace!r} is at version {version}, newer "
                f"than this Mel understands ({SCHEMA_VERSION}): upgrade Mel"
            )

    async def _ready(self) -> None:
        if self._checked:
            return
        pool = await self._pool()
        async with pool.connection() as conn, conn.cursor() as cur:
            self._check_version(await _run_async(cur, self._version_steps()))
        self._checked = True

    async def migrate(self) -> None:
        """Create or upgrade the schema, idempotently, under a transaction advisory lock."""
        with self._errors():
            pool = await self._pool()
            async with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                await cur.execute(self._q["lock"], (f"mel.migrate:{self._namespace}",))
                await cur.execute(self._q["bootstrap"])
                version = await _run_async(cur, self._version_steps()) or 0
                if version > SCHEMA_VERSION:
                    self._check_version(version)
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    await cur.execute(_migration(step, self._namespace))
                if version < SCHEMA_VERSION:
                    await cur.execute(self._q["set_version"], (str(SCHEMA_VERSION),))
        self._checked = True

    # -- writes ---------------------------------------------------------------------------

    def _write_steps(
        self, batch: WriteBatch, check: bool = False
    ) -> _Steps[tuple[list[bool], int | None]]:
        """Statements of one write batch, shared by write(), write_in() and write_in_sync().

        ``check``: first check the schema version on this (the caller's) connection.
        """
        if check and not self._checked:
            self._check_version((yield from self._version_steps()))
            self._checked = True
        first: dict[str, int] = {}
        final: dict[str, int] = {}  # per id, the write that is stored (a later forced one wins)
        for i, task in enumerate(batch.tasks):
            if task.id not in first:
                first[task.id] = final[task.id] = i
            elif task.force:
                final[task.id] = i
        # One row per id, in batch order, so equal due times are claimed first-come first-
        # served; consecutive runs of plain or forced writes share one statement.
        runs: list[list[NewTask]] = []
        for i in sorted(final.values()):
            task = batch.tasks[i]
            if runs and runs[-1][0].force == task.force:
                runs[-1].append(task)
            else:
                runs.append([task])
        if _one_statement(batch):
            # Plain inserts, nothing else (every run_now): the NOTIFY rides along.
            rows = yield self._q["insert_notify"], [*_task_columns(runs[0]), self._channel]
            written = {row[0] for row in rows}
            return [t.id in written and i == first[t.id] for i, t in enumerate(batch.tasks)], (
                min((t.due_ms for t in runs[0] if t.id in written), default=None))
        fresh: set[str] = set()
        stored: list[int] = []
        for run in runs:
            rows = yield self._q["upsert" if run[0].force else "insert"], _task_columns(run)
            written = {row[0] for row in rows}
            # xmax = 0: a new row rather than a replaced one (decides an earlier duplicate)
            fresh.update(row[0] for row in rows if len(row) == 1 or row[1])
            stored += [t.due_ms for t in run if t.id in written]
        if batch.progress:
            latest = {p.id: p for p in batch.progress}  # an upsert may touch a row only once
            yield self._q["progress"], _progress_columns(list(latest.values()))
        results = [
            t.force or t.id in fresh if i == first[t.id] else t.force
            for i, t in enumerate(batch.tasks)
        ]
        earliest = min(stored, default=None)
        if earliest is not None:
            yield self._q["notify"], (self._channel, str(earliest))
        return results, earliest

    async def write(self, batch: WriteBatch, now_ms: int) -> list[bool]:
        """Apply the batch in one transaction (unnest arrays: 100,000 tasks in ~a second)."""
        if not batch.tasks and not batch.progress:
            return []
        async with self._cursor(transaction=not _one_statement(batch)) as cur:
            results, earliest = await _run_async(cur, self._write_steps(batch))
        if earliest is not None:
            self._notify_local(earliest)
        return results

    async def write_in(
        self, conn: psycopg.AsyncConnection[Any], batch: WriteBatch, now_ms: int
    ) -> list[bool]:
        """Write ``batch`` inside the caller's transaction on ``conn``, without committing.

        The tasks are stored (and workers notified, by NOTIFY) if and only if the caller
        commits. ``conn`` must not be in autocommit mode outside a transaction block.
        """
        _check_in_transaction(conn)
        with self._errors():
            async with conn.cursor() as cur:
                results, _ = await _run_async(cur, self._write_steps(batch, check=True))
        return results

    def write_in_sync(
        self, conn: psycopg.Connection[Any], batch: WriteBatch, now_ms: int
    ) -> list[bool]:
        """The sync twin of :meth:`write_in`, for a sync connection."""
        _check_in_transaction(conn)
        with self._errors(), conn.cursor() as cur:
            results, _ = _run_sync(cur, self._write_steps(batch, check=True))
        return results

    # -- claiming and finishing -----------------------------------------------------------

    async def claim(
        self,
        worker_id: str,
        token: str,
        now_ms: int,
        limit: int | None,
        lease_ms: int,
        queues: Sequence[str] | None = None,
    ) -> list[Claimed]:
        """Lease due free tasks (or lapsed leases) in one statement, SKIP LOCKED."""
        if limit is not None and limit <= 0:
            return []
        params = {"now": now_ms, "limit": limit, "until": now_ms + lease_ms,
                  "owner": worker_id, "token": token, "queues": list(queues or ())}
        rows = await self._fetch("claim" if queues is None else "claim:queues", params)
        rows.sort(key=lambda r: (r[2], r[5]))  # RETURNING has no order
        return [Claimed(r[0], r[1], r[2], r[3], r[4], token) for r in rows]

    async def renew(
        self, tokens: Sequence[tuple[str, str]], now_ms: int, lease_ms: int
    ) -> set[str]:
        """Extend the leases still held under their tokens."""
        if not tokens:
            return set()
        ids, toks = [t[0] for t in tokens], [t[1] for t in tokens]
        return {r[0] for r in await self._fetch("renew", (now_ms + lease_ms, ids, toks))}

    async def finish(self, outcomes: Sequence[Outcome], now_ms: int) -> list[bool]:
        """One fenced statement per outcome kind, in one transaction when there are several
        (or a NOTIFY of rescheduled or released tasks)."""
        results = [False] * len(outcomes)
        if not outcomes:
            return results
        earliest: int | None = None
        unique = len({o.id for o in outcomes}) == len(outcomes)
        kinds = {type(o) for o in outcomes}
        # Only deletes, or only failures, of distinct tasks (most batches): one statement
        # that wakes nobody, atomic by itself, so no transaction block and its round trips.
        single = unique and len(kinds) == 1 and kinds <= {Delete, Fail}
        async with self._cursor(transaction=not single) as cur:
            chosen = list(range(len(outcomes)))
            if not unique:
                # Same id twice: only the first outcome holding the current token applies
                # (it clears the token), as if they ran one after another.
                await cur.execute(self._q["holders"], ([o.id for o in outcomes],))
                held = dict(await cur.fetchall())
                chosen = []
                for i, o in enumerate(outcomes):
                    if held.get(o.id) == o.token:
                        chosen.append(i)
                        held.pop(o.id)
            for kind in (Delete, Fail, Reschedule, Release):
                picked = [i for i in chosen if isinstance(outcomes[i], kind)]
                if not picked:
                    continue
                key, params = _finish_params(kind, [outcomes[i] for i in picked])
                await cur.execute(self._q[key], params)
                applied = {row[0]: row for row in await cur.fetchall()}
                for i in picked:
                    row = applied.get(outcomes[i].id)
                    if row is not None:
                        results[i] = True
                        if len(row) > 1:
                            earliest = row[1] if earliest is None else min(earliest, row[1])
            if earliest is not None:
                await cur.execute(self._q["notify"], (self._channel, str(earliest)))
        if earliest is not None:
            self._notify_local(earliest)
        return results

    async def release_worker(self, worker_id: str) -> int:
        """Free every lease held by ``worker_id``."""
        async with self._cursor(transaction=False) as cur:
            await cur.execute(self._q["release_worker"], (worker_id,))
            return cur.rowcount

    # -- reads ----------------------------------------------------------------------------

    async def next_due_ms(self, queues: Sequence[str] | None = None) -> int | None:
        """Two index lookups: the first free task and the first lease to lapse."""
        if queues is None:
            rows = await self._fetch("next_due", ())
        else:
            rows = await self._fetch("next_due:queues", {"queues": list(queues)})
        return cast(int | None, rows[0][0])

    async def get(self, task_id: str) -> StoredTask | None:
        """The task with this id."""
        rows = await self._fetch("get", (task_id,))
        return StoredTask(*rows[0]) if rows else None

    async def get_failed(self, task_id: str, now_ms: int) -> FailedTask | None:
        """The unexpired failed record with this id."""
        rows = await self._fetch("get_failed", (task_id, now_ms))
        return FailedTask(*rows[0]) if rows else None

    async def list_tasks(
        self, queue: str | None = None, limit: int | None = None
    ) -> list[StoredTask]:
        """Tasks by due time (then id)."""
        return [StoredTask(*r) for r in await self._fetch("list_tasks",
                                                       {"queue": queue, "limit": limit})]

    async def list_failed(self, now_ms: int, limit: int | None = None) -> list[FailedTask]:
        """Unexpired failed records, latest first."""
        return [FailedTask(*r) for r in await self._fetch("list_failed", (now_ms, limit))]

    async def counts(self, now_ms: int) -> dict[TaskState, int]:
        """Count by state in one scan."""
        ((running, retrying, scheduled, failed),) = await self._fetch("counts", {"now": now_ms})
        return {"scheduled": scheduled, "running": running, "retrying": retrying, "failed": failed}

    # -- management -----------------------------------------------------------------------

    async def cancel(self, task_id: str) -> bool:
        """Remove the task and its failed record."""
        return bool((await self._fetch("cancel", {"id": task_id}))[0][0])

    async def requeue_failed(self, task_id: str, due_ms: int, data: str, now_ms: int) -> bool:
        """Move a failed record back to the schedule, in one transaction."""
        params = {"id": task_id, "now": now_ms, "due": due_ms, "data": data}
        moved = False
        async with self._cursor(transaction=True) as cur:
            await cur.execute(self._q["requeue"], params)
            if not await cur.fetchall():
                # Nothing moved, or a task with this id was written since the check: roll
                # back the delete (the transaction block swallows Rollback).
                raise psycopg.Rollback
            await cur.execute(self._q["notify"], (self._channel, str(due_ms)))
            moved = True
        if moved:
            self._notify_local(due_ms)
        return moved

    async def purge_failed(self, now_ms: int) -> int:
        """Drop expired failed records and progress."""
        async with self._cursor(transaction=True) as cur:
            await cur.execute(self._q["purge_failed"], (now_ms,))
            purged = cur.rowcount
            await cur.execute(self._q["purge_progress"], (now_ms,))
        return purged

    async def get_progress(self, ids: Sequence[str], now_ms: int) -> list[ProgressRecord]:
        """Unexpired progress among ``ids``, in the order asked."""
        if not ids:
            return []
        found = {r[0]: ProgressRecord(*r) for r in await self._fetch("get_progress",
                                                                         (list(ids), now_ms))}
        return [found[i] for i in ids if i in found]

    async def truncate(self) -> None:
        """Empty this namespace's tables."""
        async with self._cursor(transaction=False) as cur:
            await cur.execute(self._q["truncate"])

    # -- wake-ups -------------------------------------------------------------------------

    async def watch(self) -> Watcher:
        """A watcher fed by LISTEN on a connection of its own (and by in-process writes)."""
        watcher = Watcher(self._unwatch)
        conn = await self._listen()
        task = asyncio.get_running_loop().create_task(
            self._listen_loop(watcher, conn), name=f"mel-listen-{self._namespace}"
        )
        with self._lock:
            self._listeners[watcher] = task
        self._local_watchers().add(watcher)
        return watcher

    async def _unwatch(self, watcher: Watcher) -> None:
        await super()._unwatch(watcher)
        with self._lock:
            task = self._listeners.pop(watcher, None)
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    async def _listen(self) -> psycopg.AsyncConnection[TupleRow]:
        with self._errors():
            conn = await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, **self._connect
            )
            try:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            except BaseException:
                await conn.close()
                raise
        return conn

    async def _listen_loop(
        self, watcher: Watcher, conn: psycopg.AsyncConnection[TupleRow]
    ) -> None:
        delay = 0.1
        try:
            while True:
                with contextlib.suppress(psycopg.Error):
                    async for note in conn.notifies():
                        watcher.notify(_payload_ms(note.payload))
                await conn.close()  # lost: reconnect, backing off while the server is away
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                with contextlib.suppress(StoreError):
                    conn = await self._listen()
                    delay = 0.1
                # Writes made while nobody listened were not heard: let the worker look.
                watcher.event.set()
        finally:
            await conn.close()


def _check_in_transaction(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    # In autocommit mode each statement would commit on its own: no outbox guarantee.
    if conn.autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        raise TransactionError("write_in needs a connection inside a transaction")


def _one_statement(batch: WriteBatch) -> bool:
    """Whether ``batch`` is stored by one statement (insert_notify): no force, no progress."""
    return bool(batch.tasks) and not batch.progress and not any(t.force for t in batch.tasks)


def _task_columns(tasks: list[NewTask]) -> list[list[Any]]:
    return [[t.id for t in tasks], [t.queue for t in tasks], [t.due_ms for t in tasks],
            [t.data for t in tasks]]


def _progress_columns(records: list[ProgressRecord]) -> list[list[Any]]:
    return [[p.id for p in records], [p.description for p in records],
            [p.value for p in records], [p.expires_ms for p in records]]


def _finish_params(kind: type, outcomes: list[Any]) -> tuple[str, list[list[Any]]]:
    """The statement and array parameters finishing ``outcomes``, all of one kind."""
    fence = [[o.id for o in outcomes], [o.token for o in outcomes]]
    if kind is Fail:
        records: list[FailedTask] = [o.record for o in outcomes]
        return "fail", fence + [
            fence[0], [r.queue for r in records], [r.data for r in records],
            [r.attempts for r in records], [r.error for r in records],
            [r.traceback for r in records], [r.failed_ms for r in records],
            [r.expires_ms for r in records],
        ]
    if kind is Reschedule:
        return "reschedule", fence + [[o.due_ms for o in outcomes],
                                      [o.attempts for o in outcomes], [o.data for o in outcomes]]
    return ("delete" if kind is Delete else "release"), fence


async def _run_async(cur: psycopg.AsyncCursor[Any], steps: _Steps[_T]) -> _T:
    """Run a statement generator on an async cursor, feeding each statement's rows back."""
    try:
        query, params = next(steps)
        while True:
            await cur.execute(query, params)
            rows = await cur.fetchall() if cur.description is not None else []
            query, params = steps.send(rows)
    except StopIteration as stop:
        return cast(_T, stop.value)


def _run_sync(cur: psycopg.Cursor[Any], steps: _Steps[_T]) -> _T:
    """The sync twin of :func:`_run_async`."""
    try:
        query, params = next(steps)
        while True:
            cur.execute(query, params)
            rows = cur.fetchall() if cur.description is not None else []
            query, params = steps.send(rows)
    except StopIteration as stop:
        return cast(_T, stop.value)
