"""RedisStore: tasks in Redis, for workers spread across machines.

Every operation is one Lua script call (claims, writes and finishes of any size included),
so each is atomic and costs one round trip; writes of fresh tasks only (ids Mel just
generated) are one MULTI/EXEC of plain commands instead. The key layout is documented in
``docs/redis-layout.md`` so programs in other languages can enqueue; the scripts live in
``redis_scripts.lua`` next to this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.connection import parse_url as sync_parse_url
from redis.exceptions import NoScriptError, RedisError
from redis.retry import Retry as SyncRetry

from mel.errors import ConfigurationError, StoreError
from mel.stores.base import (
    Claimed,
    Claims,
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
    Watcher,
    WriteBatch,
)
from mel.stores.redis_direct import AsyncConnections, SyncConnections, pack

log = logging.getLogger(__name__)

#: Values per ZADD or HSET of a fresh write (score/member or field/value pairs: even).
_CHUNK = 20_000

_MULTI, _EXEC = pack(("MULTI",)), pack(("EXEC",))

#: The first of a bucket's four hex digits, from the id's fourth-last: its low two bits.
_BUCKET_LEAD = {d: "0123"[int(d, 16) % 4] for d in "0123456789abcdef"}


def _fresh_bucket(task_id: str) -> str:
    """The data bucket of one of Mel's hex ids: its last 14 bits, as four hex digits (the
    rule of ``bucket`` in redis_scripts.lua)."""
    return _BUCKET_LEAD[task_id[-4]] + task_id[-3:]

#: Far below any due time: wakes every watcher (used when notifications may have been lost).
_WAKE_ALL = -(2**62)


@dataclass(frozen=True, slots=True)
class _Script:
    name: str
    text: str
    sha: str


def _load_scripts() -> dict[str, _Script]:
    source = resources.files("mel.stores").joinpath("redis_scripts.lua").read_text("utf-8")
    sections = re.split(r"^--- @(prelude|script \w+(?: bare)?)\n", source, flags=re.MULTILINE)
    prelude = sections[sections.index("prelude") + 1]
    scripts: dict[str, _Script] = {}
    for head, body in zip(sections[1::2], sections[2::2], strict=True):
        if head.startswith("script "):
            name, _, bare = head.removeprefix("script ").partition(" ")
            text = body if bare else prelude + body
            scripts[name] = _Script(name, text, hashlib.sha1(text.encode()).hexdigest())
    return scripts


_SCRIPTS = _load_scripts()


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn driver errors into StoreError so workers back off and retry."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise _store_error(exc) from exc


def _store_error(exc: BaseException) -> StoreError:
    return StoreError(f"redis: {type(exc).__name__}: {exc}")


@dataclass(slots=True)
class _Listener:
    """One pub/sub subscription per store and event loop, feeding that loop's watchers."""

    watchers: set[Watcher] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    ready: asyncio.Future[None] | None = None


@dataclass(slots=True)
class _LoopState:
    client: Redis
    direct: AsyncConnections  # script calls: the hot paths
    listener: _Listener = field(default_factory=_Listener)


class RedisStore(Store):
    """A store on one Redis server (or one Cluster slot, thanks to the namespace hash tag).

    ``url`` is ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` for TLS, or
    ``unix:///path.sock``; query options of redis-py (``?socket_timeout=5``) are honoured.
    Each event loop that uses the store gets its own pool of at most ``pool_size``
    connections, created on first use.
    """

    cross_process_wakeups = True

    def __init__(self, url: str, *, namespace: str = "mel", pool_size: int = 8) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        try:
            self._conn_kwargs: dict[str, Any] = dict(parse_url(url))
        except ValueError as exc:
            raise ConfigurationError(f"bad Redis URL {url!r}: {exc}") from exc
        # Scripts are not idempotent (a resent write reports its tasks as duplicates), so
        # a failed call surfaces as StoreError instead of being silently sent again.
        self._conn_kwargs.update(retry=Retry(NoBackoff(), 0), decode_responses=False)
        self._conn_kwargs.setdefault("socket_connect_timeout", 5.0)
        # A connection idle this long is PINGed before use, so a server restart costs a
        # reconnect instead of a failed (and, for scripts, not safely repeatable) call.
        self._conn_kwargs.setdefault("health_check_interval", 2)
        self._url, self._pool_size, self.namespace = url, pool_size, namespace
        self._prefix = f"{{{namespace}}}:"
        self._channel = self._prefix + "wake"
        # Tags this store's notifications, so its own watchers (already woken in-process)
        # skip them.
        self._origin = uuid.uuid4().hex[:12]
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self._lock = threading.Lock()
        # The sync API's connections: the same options, with redis-py's blocking classes.
        sync_kwargs = {k: v for k, v in self._conn_kwargs.items() if k != "connection_class"}
        sync_kwargs.update(sync_parse_url(url), retry=SyncRetry(NoBackoff(), 0))  # type: ignore[no-untyped-call]
        self._sync = SyncConnections(sync_kwargs)

    def __repr__(self) -> str:
        return f"RedisStore({_redact(self._url)!r}, namespace={self.namespace!r})"

    # -- connections --------------------------------------------------------------------

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)  # a dict read is atomic: no lock on the hot path
        if state is not None:
            return state
        with self._lock:
            state = self._loops.get(loop)
            if state is None:
                for dead in [lp for lp in self._loops if lp.is_closed()]:
                    _abandon(self._loops.pop(dead), closed=True)
                pool = BlockingConnectionPool(max_connections=self._pool_size, **self._conn_kwargs)
                state = self._loops[loop] = _LoopState(
                    Redis.from_pool(pool), AsyncConnections(self._conn_kwargs, self._pool_size))
            return state

    async def _script(self, name: str, *args: bytes | str | int) -> Any:
        script = _SCRIPTS[name]
        call = self._state().direct.call
        # try/except rather than `with _errors()`: a generator context manager costs a few
        # µs, a tenth of a whole run_now.
        try:
            try:
                return await call("EVALSHA", script.sha, 1, self._prefix, *args)
            except NoScriptError:
                # The server lost its script cache (restart, failover, SCRIPT FLUSH).
                await call("SCRIPT", "LOAD", script.text)
                return await call("EVALSHA", script.sha, 1, self._prefix, *args)
        except (RedisError, OSError) as exc:
            raise _store_error(exc) from exc

    async def _pipeline(self, packed: bytes, count: int) -> list[Any]:
        try:
            return await self._state().direct.pipeline(packed, count)
        except (RedisError, OSError) as exc:
            raise _store_error(exc) from exc

    def _pipeline_sync(self, packed: bytes, count: int) -> list[Any]:
        try:
            return self._sync.pipeline(packed, count)
        except (RedisError, OSError) as exc:
            raise _store_error(exc) from exc

    def _script_sync(self, name: str, *args: bytes | str | int) -> Any:
        """Blocking twin of :meth:`_script`, for Mel's sync API: no event-loop hop."""
        script = _SCRIPTS[name]
        call = self._sync.call
        try:
            try:
                return call("EVALSHA", script.sha, 1, self._prefix, *args)
            except NoScriptError:
                call("SCRIPT", "LOAD", script.text)
                return call("EVALSHA", script.sha, 1, self._prefix, *args)
        except (RedisError, OSError) as exc:
            raise _store_error(exc) from exc

    async def open(self) -> None:
        """Check the server answers and load every script; idempotent."""
        client = self._state().client
        with _errors():
            await _awaited(client.ping())
            async with client.pipeline(transaction=False) as pipe:
                for script in _SCRIPTS.values():
                    pipe.script_load(script.text)
                await pipe.execute()

    async def migrate(self) -> None:
        """Nothing to create: Redis keys come into being on first write."""

    async def close(self) -> None:
        """Close every loop's connections and listeners; the store may be opened again."""
        current = asyncio.get_running_loop()
        with self._lock:
            states, self._loops = self._loops, {}
        self._sync.close()
        for loop, state in states.items():
            if loop is current:
                await _close_state(state)
            elif loop.is_running():
                future = asyncio.run_coroutine_threadsafe(_close_state(state), loop)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.wrap_future(future), 5)
            else:
                _abandon(state, closed=loop.is_closed())

    # -- writes -------------------------------------------------------------------------

    async def write(self, batch: WriteBatch, now_ms: int) -> list[bool]:
        """One round trip stores every task and progress record of the batch: a
        MULTI/EXEC when every id is fresh, else one script call."""
        if not batch.tasks and not batch.progress:
            return []
        fresh = self._fresh_commands(batch)
        if fresh is not None:
            packed, count, earliest = fresh
            return self._fresh_written(batch, earliest, await self._pipeline(packed, count))
        name, args = self._write_call(batch)
        return self._written(batch, await self._script(name, *args))

    def write_sync(self, batch: WriteBatch, now_ms: int) -> list[bool]:
        """Blocking twin of :meth:`write`, on a sync client: one round trip, no loop hop."""
        if not batch.tasks and not batch.progress:
            return []
        fresh = self._fresh_commands(batch)
        if fresh is not None:
            packed, count, earliest = fresh
            return self._fresh_written(batch, earliest, self._pipeline_sync(packed, count))
        name, args = self._write_call(batch)
        return self._written(batch, self._script_sync(name, *args))

    def _fresh_commands(self, batch: WriteBatch) -> tuple[bytes, int, int] | None:
        """A batch of fresh tasks only (ids Mel just generated, no progress records) as
        plain commands in one MULTI/EXEC, packed, with their count and the batch's earliest
        due time; None for any other batch.

        No id can be taken, so no existence check is needed, and plain commands cost
        Redis far less than the script: 5 against 14 µs for one task; for 100,000 (whose
        data lands in up to 16,384 HSETs, one per bucket), 0.06 against 0.5 s."""
        tasks = batch.tasks
        if batch.progress:
            return None
        # A fresh id is one of Mel's (32 lowercase hex digits, NewTask.fresh): its key form
        # is 0xFF and the bytes it spells, its bucket its own last 14 bits. Built
        # here rather than by _key's checks: a tenth of a run_now's write.
        p = self._prefix
        if len(tasks) == 1:  # every run_now: no grouping
            t = tasks[0]
            if not t.fresh:
                return None
            task_id = t.id
            key = b"\xff" + bytes.fromhex(task_id)
            parts = [_MULTI, pack(("HSET", p + "d:" + _fresh_bucket(task_id), key, t.data)),
                     pack(("ZADD", p + "due", t.due_ms, key))]
            if t.queue != "default":
                parts.append(pack(("HSET", p + "queue", key, t.queue)))
            parts += (pack(("PUBLISH", self._channel, f"{t.due_ms} {self._origin}")), _EXEC)
            return b"".join(parts), len(parts), t.due_ms
        if not all(t.fresh for t in tasks):
            return None
        by_bucket: dict[str, list[bytes | str | int]] = {}
        due: list[bytes | str | int] = []
        queues: list[bytes | str | int] = []
        fromhex = bytes.fromhex
        for t in tasks:  # half of a 100,000-task commit's Python
            task_id = t.id
            key = b"\xff" + fromhex(task_id)
            bucket = _fresh_bucket(task_id)
            fields = by_bucket.get(bucket)
            if fields is None:
                fields = by_bucket[bucket] = ["HSET", p + "d:" + bucket]
            fields.append(key)
            fields.append(t.data)
            due.append(t.due_ms)
            due.append(key)
            if t.queue != "default":
                queues.append(key)
                queues.append(t.queue)
        commands = [tuple(c) for c in by_bucket.values()]
        # Bounded commands, so no single one needs a huge argument vector on the server.
        for i in range(0, len(due), _CHUNK):
            commands.append(("ZADD", p + "due", *due[i:i + _CHUNK]))
        for i in range(0, len(queues), _CHUNK):
            commands.append(("HSET", p + "queue", *queues[i:i + _CHUNK]))
        earliest = min(t.due_ms for t in tasks)
        commands.append(("PUBLISH", self._channel, f"{earliest} {self._origin}"))
        return (_MULTI + b"".join([pack(c) for c in commands]) + _EXEC, len(commands) + 2,
                earliest)

    def _fresh_written(self, batch: WriteBatch, earliest: int, replies: list[Any]
                       ) -> list[bool]:
        # MULTI's OK and a QUEUED per command come first. A command Redis refused to queue
        # makes EXEC an error (nothing was applied); one that failed as it ran (a key of
        # the wrong type, say) is an error inside EXEC's array.
        executed = replies[-1]
        if not isinstance(executed, list):
            raise _write_error(executed)
        for reply in executed:
            if isinstance(reply, Exception):
                raise _write_error(reply)
        self._notify_local(earliest)
        return [True] * len(batch.tasks)

    def _write_call(self, batch: WriteBatch) -> tuple[str, list[bytes | str | int]]:
        """The script and arguments that store ``batch``: the lean ``write_new`` unless a
        task is forced or the batch has progress records, else the general ``write``."""
        tasks = batch.tasks
        if len(tasks) == 1 and not batch.progress and not tasks[0].force:  # every run_now
            t = tasks[0]
            return "write_new", [self._origin, t.due_ms, _key(t.id), t.queue, t.due_ms, t.data]
        if not batch.progress and not any(t.force for t in tasks):
            args: list[bytes | str | int] = [self._origin, min(t.due_ms for t in tasks)]
            for t in tasks:
                args += (_key(t.id), t.queue, t.due_ms, t.data)
            return "write_new", args
        args = [self._origin, len(tasks)]
        for t in tasks:
            args += (_key(t.id), t.queue, t.due_ms, t.data, int(t.force))
        for p in batch.progress:
            record = {"description": p.description, "value": p.value, "expires_ms": p.expires_ms}
            args += (p.id, _dumps(record), "" if p.expires_ms is None else p.expires_ms)
        return "write", args

    def _written(self, batch: WriteBatch, reply: list[Any]) -> list[bool]:
        # Both write scripts answer 1/0 per task.
        if len(reply) == 1:  # every run_now
            if reply[0]:
                self._notify_local(batch.tasks[0].due_ms)
            return [bool(reply[0])]
        stored = [bool(r) for r in reply]
        due = [t.due_ms for t, ok in zip(batch.tasks, stored, strict=True) if ok]
        if due:
            self._notify_local(min(due))
        return stored

    async def claim(
        self,
        worker_id: str,
        token: str,
        now_ms: int,
        limit: int | None,
        lease_ms: int,
        queues: Sequence[str] | None = None,
    ) -> list[Claimed]:
        """Lapse expired leases, then lease due tasks in due order: one script call."""
        return (await self.claim_next(worker_id, token, now_ms, limit, lease_ms, queues)).tasks

    async def claim_next(
        self,
        worker_id: str,
        token: str,
        now_ms: int,
        limit: int | None,
        lease_ms: int,
        queues: Sequence[str] | None = None,
    ) -> Claims:
        """The claim and the time of the next one, from the same script call."""
        *rows, after = await self._script(
            "claim", now_ms, "" if limit is None else max(limit, 0), now_ms + lease_ms,
            worker_id, token, *_queue_args(queues),
        )
        tasks = [
            Claimed(_id(rows[i]), _str(rows[i + 1], "default"), _int(rows[i + 2]),
                    _int(rows[i + 3] or 0), _str(rows[i + 4]), token)
            for i in range(0, len(rows), 5)
        ]
        return Claims(tasks, None if after is None else _int(after))

    async def renew(
        self, tokens: Sequence[tuple[str, str]], now_ms: int, lease_ms: int
    ) -> set[str]:
        """Extend the leases still held under their tokens."""
        if not tokens:
            return set()
        args: list[bytes | str | int] = [now_ms + lease_ms]
        for task_id, token in tokens:
            args += (_key(task_id), token)
        return {_id(raw) for raw in await self._script("renew", *args)}

    async def finish(self, outcomes: Sequence[Outcome], now_ms: int) -> list[bool]:
        """Apply each fenced outcome; one script call for the whole batch."""
        if not outcomes:
            return []
        args: list[bytes | str | int] = [self._origin]
        for o in outcomes:
            if isinstance(o, Delete):
                args += ("D", _key(o.id), o.token, "", "", "")
            elif isinstance(o, Fail):
                r = o.record
                expires = "" if r.expires_ms is None else r.expires_ms
                args += ("F", _key(o.id), o.token, _dump_failed(r), -r.failed_ms, expires)
            elif isinstance(o, Reschedule):
                args += ("R", _key(o.id), o.token, o.due_ms, o.attempts, o.data)
            elif isinstance(o, Release):
                args += ("L", _key(o.id), o.token, "", "", "")
            else:  # pragma: no cover - Outcome is a closed union
                raise TypeError(f"not an outcome: {o!r}")
        *results, earliest = await self._script("finish", *args)
        if earliest is not None:
            self._notify_local(_int(earliest))
        return [bool(r) for r in results]

    async def release_worker(self, worker_id: str) -> int:
        """Free every lease held by ``worker_id``."""
        return int(await self._script("release_worker", worker_id))

    # -- reads --------------------------------------------------------------------------

    async def next_due_ms(self, queues: Sequence[str] | None = None) -> int | None:
        """The earlier of the first free due time and the first lease expiry."""
        if queues is not None and not queues:
            return None
        found = await self._script("next_due", *_queue_args(queues))
        return None if found is None else _int(found)

    async def get(self, task_id: str) -> StoredTask | None:
        """The task with this id."""
        row = await self._script("get", _key(task_id))
        if row is None:
            return None
        due, queue, attempts, data, lease, owner = row
        return StoredTask(task_id, _str(queue, "default"), _int(due), _int(attempts or 0),
                          _str(data), None if lease is None else _int(lease),
                          None if owner is None else _str(owner))

    async def get_failed(self, task_id: str, now_ms: int) -> FailedTask | None:
        """The unexpired failed record with this id."""
        with _errors():
            raw = await _awaited(self._state().client.hget(self._prefix + "failed", _key(task_id)))
        record = None if raw is None else _load_failed(task_id, raw)
        return record if record is not None and _alive(record.expires_ms, now_ms) else None

    async def list_tasks(
        self, queue: str | None = None, limit: int | None = None
    ) -> list[StoredTask]:
        """Tasks sorted by due time, then id."""
        rows = await self._script("list", "0" if queue is None else "1", queue or "",
                                  "" if limit is None else max(limit, 0))
        tasks = [
            StoredTask(_id(rows[i]), _str(rows[i + 1]), _int(rows[i + 2]),
                       _int(rows[i + 3] or 0), _str(rows[i + 4]),
                       None if rows[i + 5] is None else _int(rows[i + 5]),
                       None if rows[i + 6] is None else _str(rows[i + 6]))
            for i in range(0, len(rows), 7)
        ]
        tasks.sort(key=lambda t: (t.due_ms, t.id))
        return tasks if limit is None else tasks[:limit]

    async def list_failed(self, now_ms: int, limit: int | None = None) -> list[FailedTask]:
        """Unexpired failed records, latest first."""
        rows = await self._script("list_failed", now_ms, "" if limit is None else max(limit, 0))
        records = [_load_failed(_id(rows[i]), rows[i + 1]) for i in range(0, len(rows), 2)]
        records.sort(key=lambda r: (-r.failed_ms, r.id))
        return records if limit is None else records[:limit]

    async def counts(self, now_ms: int) -> dict[TaskState, int]:
        """Count by state without reading any task's data."""
        scheduled, running, retrying, failed = await self._script("counts", now_ms)
        return {"scheduled": scheduled, "running": running, "retrying": retrying,
                "failed": failed}

    # -- management ---------------------------------------------------------------------

    async def cancel(self, task_id: str) -> bool:
        """Remove the task and its failed record."""
        return bool(await self._script("cancel", _key(task_id)))

    async def requeue_failed(self, task_id: str, due_ms: int, data: str, now_ms: int) -> bool:
        """Move a failed record back to the schedule."""
        ok = bool(await self._script("requeue_failed", _key(task_id), due_ms, data, now_ms,
                                     self._origin))
        if ok:
            self._notify_local(due_ms)
        return ok

    async def purge_failed(self, now_ms: int) -> int:
        """Drop expired failed records and progress."""
        return int(await self._script("purge", now_ms))

    async def get_progress(self, ids: Sequence[str], now_ms: int) -> list[ProgressRecord]:
        """Unexpired progress among ``ids``, in the order asked."""
        if not ids:
            return []
        with _errors():
            raws = await _awaited(self._state().client.hmget(self._prefix + "progress", ids))
        found = []
        for task_id, raw in zip(ids, raws, strict=True):
            if raw is not None:
                r = json.loads(raw)
                if _alive(r["expires_ms"], now_ms):
                    found.append(ProgressRecord(task_id, r["description"], r["value"],
                                                r["expires_ms"]))
        return found

    async def truncate(self) -> None:
        """Delete every key of the namespace: SCAN for its prefix (glob characters escaped,
        so ``{a*}:`` never matches ``{ab}:``), UNLINK in chunks. Not atomic: meant for
        tests and resets, not for use while workers run."""
        client = self._state().client
        pattern = re.sub(r"([\\*?\[\]])", r"\\\1", self._prefix) + "*"
        with _errors():
            batch: list[bytes] = []
            async for key in client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    await _awaited(client.unlink(*batch))
                    batch = []
            if batch:
                await _awaited(client.unlink(*batch))

    # -- wake-ups -----------------------------------------------------------------------

    async def watch(self) -> Watcher:
        """A watcher woken by this process's writes at once, and by every other
        writer's through the namespace's pub/sub channel (one subscription per loop)."""
        state = self._state()
        listener = state.listener
        watcher = Watcher(self._unwatch)
        self._local_watchers().add(watcher)
        listener.watchers.add(watcher)
        if listener.task is None:
            listener.ready = asyncio.get_running_loop().create_future()
            listener.task = asyncio.create_task(self._listen(state, listener.ready))
        assert listener.ready is not None
        try:
            # Returns once subscribed, so a write made right after watch() is never missed.
            await asyncio.shield(listener.ready)
        except BaseException:
            await self._unwatch(watcher)
            raise
        return watcher

    async def _unwatch(self, watcher: Watcher) -> None:
        self._local_watchers().discard(watcher)
        with self._lock:
            states = list(self._loops.values())
        for state in states:
            listener = state.listener
            if watcher in listener.watchers:
                listener.watchers.discard(watcher)
                if not listener.watchers and listener.task is not None:
                    task, listener.task, listener.ready = listener.task, None, None
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _listen(self, state: _LoopState, ready: asyncio.Future[None]) -> None:
        """Relay notifications to the loop's watchers, resubscribing after failures.

        A dead peer is noticed through TCP keepalive (redis-py's default: ~45 s); meanwhile
        workers still poll, so a lost subscription delays wake-ups but loses no work.
        """
        delay = 0.05
        while True:
            pool = ConnectionPool(max_connections=1, **self._conn_kwargs)
            pubsub = PubSub(pool)
            try:
                with _errors():
                    await pubsub.subscribe(self._channel)
                    # Only once the server confirms are writes seen: wait for it.
                    while (await pubsub.get_message(timeout=None) or {}).get("type") != "subscribe":
                        pass
                    if ready.done():  # a reconnect: notifications may have been missed
                        self._relay(state, _WAKE_ALL)
                    else:
                        ready.set_result(None)
                    delay = 0.05
                    while True:
                        message = await pubsub.get_message(timeout=None)
                        if message is not None and message["type"] == "message":
                            due = self._parse(message["data"])
                            if due is not None:
                                self._relay(state, due)
            except Exception as exc:  # any failure: never leave watch() waiting on `ready`  # noqa: BLE001 - user code or untrusted data must not stop Mel
                if not ready.done():
                    ready.set_exception(exc)
                    return
                log.warning("redis wake-up subscription lost (%s); retrying in %.2fs",
                            exc, delay)
            finally:
                with contextlib.suppress(Exception):
                    await cast(Any, pubsub).aclose()
                with contextlib.suppress(Exception):
                    await pool.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _parse(self, data: bytes) -> int | None:
        due, _, origin = data.partition(b" ")
        if origin == self._origin.encode():
            return None  # this store already woke its watchers in-process
        try:
            return _int(due)
        except ValueError:
            log.warning("ignoring malformed wake-up %r on %s", data, self._channel)
            return None

    @staticmethod
    def _relay(state: _LoopState, due_ms: int) -> None:
        for watcher in tuple(state.listener.watchers):
            watcher.notify(due_ms)


# -- helpers ----------------------------------------------------------------------------


async def _awaited(value: Awaitable[Any] | Any) -> Any:
    """redis-py types replies as ``Awaitable[T] | T``; the asyncio client always awaits."""
    return await cast(Awaitable[Any], value)


async def _close_state(state: _LoopState) -> None:
    listener = state.listener
    task, listener.task, listener.ready = listener.task, None, None
    listener.watchers.clear()
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with contextlib.suppress(Exception):
        await state.client.aclose()
    with contextlib.suppress(Exception):
        await state.direct.close()


def _abandon(state: _LoopState, *, closed: bool) -> None:
    """Drop a pool whose loop is closed or idle: nothing can be awaited on it. Aborting
    the transports lets an idle loop finish the job if it runs again; a closed loop never
    will, so its sockets are closed here (best effort, through asyncio internals), which
    also keeps the collected transports and streams from warning."""
    pool = state.client.connection_pool
    conns = [*getattr(pool, "_available_connections", ()),
             *getattr(pool, "_in_use_connections", ()), *state.direct.connections]
    for conn in conns:
        transport: Any = getattr(getattr(conn, "_writer", None), "transport", None)
        while transport is not None:
            with contextlib.suppress(Exception):
                transport.abort()  # marks it closing; the loop would do the rest
            sock = getattr(transport, "_sock", None) if closed else None
            if sock is not None:
                with contextlib.suppress(Exception):
                    sock.close()
                    transport._sock = None
            # A TLS transport wraps the socket transport.
            transport = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
        conn._writer = conn._reader = None


def _write_error(reply: object) -> StoreError:
    if isinstance(reply, Exception):
        return StoreError(f"redis: a write of new tasks failed: {type(reply).__name__}: "
                          f"{reply}")
    return StoreError(f"redis: a write of new tasks failed: EXEC answered {reply!r}")


def _queue_args(queues: Sequence[str] | None) -> list[str | int]:
    # '' means no filter; 0 followed by nothing is a filter that matches no queue.
    return [""] if queues is None else [len(queues), *queues]


def _key(task_id: str) -> bytes:
    """A task id as stored: Mel's default ids (32 lowercase hex digits) are kept as the byte
    0xFF and the 16 bytes they spell, half their size; 0xFF never occurs in UTF-8, so these
    never clash with other ids, which are stored as their UTF-8 bytes."""
    if len(task_id) == 32:
        try:
            raw = bytes.fromhex(task_id)
        except ValueError:
            return task_id.encode()
        # fromhex also takes upper case and spaces: 16 bytes from 32 characters rule out
        # spaces, and islower/isdigit (cheaper than hex() round trip) rule out upper case.
        if len(raw) == 16 and (task_id.islower() or task_id.isdigit()):
            return b"\xff" + raw
    return task_id.encode()


def _id(raw: bytes) -> str:
    return raw[1:].hex() if raw[:1] == b"\xff" else raw.decode()


def _str(raw: bytes | None, default: str = "") -> str:
    return default if raw is None else raw.decode()


def _int(value: bytes | str | int) -> int:
    # Lua hands scores back as strings; a score formatted with an exponent still parses.
    try:
        return int(value)
    except ValueError:
        return int(float(value))


def _alive(expires_ms: int | None, now_ms: int) -> bool:
    return expires_ms is None or expires_ms > now_ms


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _dump_failed(r: FailedTask) -> str:
    return _dumps({"queue": r.queue, "data": r.data, "attempts": r.attempts, "error": r.error,
                   "traceback": r.traceback, "failed_ms": r.failed_ms,
                   "expires_ms": r.expires_ms})


def _load_failed(task_id: str, raw: bytes) -> FailedTask:
    r = json.loads(raw)
    return FailedTask(task_id, r["queue"], r["data"], r["attempts"], r["error"],
                      r["traceback"], r["failed_ms"], r["expires_ms"])


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)
