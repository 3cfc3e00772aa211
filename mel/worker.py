"""The worker: claims due tasks, runs them, and writes what happened, on one event loop.

Three loops run side by side: the claim loop (sleeps until the next due time, the poll
interval or a wake-up), the lease renewer (on its own timer, whatever else is busy) and
the finisher (batches outcomes to the store). Each task runs in an asyncio task of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from mel import callbacks, clock, collector, config, outcome, registry, scheduling
from mel.errors import SchemaError
from mel.finisher import Finisher
from mel.job import BaseJob
from mel.stores.base import Claimed, Release, Store, Watcher
from mel.task import TaskData, loads

log = logging.getLogger("mel.worker")
task_log = logging.getLogger("mel.task")

#: the task the current asyncio task or thread is running (for log records)
current_task: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "mel_current_task", default=None
)


_ANY_WRITE = 2**62


class UnknownJob(LookupError):
    """Stored data names a job class this worker has not imported."""


@dataclass(slots=True)
class _Running:
    claimed: Claimed
    task: asyncio.Task[None] | None = None
    #: its outcome went to the finisher (the lease is still renewed until it is applied)
    submitted: bool = False


@dataclass(slots=True)
class WorkerOptions:
    """How a worker claims: see ``mel.configure`` for each."""

    batch_size: int = -100
    poll_interval: float = 3.0
    lease_ms: int = 30_000
    worker_id: str | None = None
    queues: Sequence[str] | None = None
    failed_ttl: timedelta | None = timedelta(days=7)
    threads: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Worker:
    """One worker on one store. ``await run()`` until ``stop()``."""

    def __init__(self, store: Store, options: WorkerOptions) -> None:
        if options.batch_size == 0:
            raise ValueError("batch_size 0 would never run anything; use N, -N or -1")
        self.store = store
        self.options = options
        self.worker_id = options.worker_id or (
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self.ran = 0
        self._running: dict[str, _Running] = {}
        self._stopping = asyncio.Event()
        self._hard_stop = asyncio.Event()
        # The claim loop's one wake-up call: set by a write the watcher reports, a stop,
        # the sleep's own timer, and (while the loop waits for one) a freed slot.
        self._wake = asyncio.Event()
        self._waiting_slot = False
        self._idle = asyncio.Event()  # nothing claimed is unfinished
        self._idle.set()
        self._stopped = asyncio.Event()
        self._finisher = Finisher(store)
        self._threads = ThreadPoolExecutor(options.threads, thread_name_prefix="mel-job")
        self._side: list[asyncio.Task[None]] = []
        self.started = asyncio.Event()

    # -- life cycle -----------------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`stop`; running tasks finish (or are handed back) before return.

        While it runs, the garbage collector's first threshold is at least
        :data:`mel.collector.GEN0` (see :mod:`mel.collector`)."""
        with collector.tuned():
            await self._run()

    async def _run(self) -> None:
        watcher: Watcher | None = None
        try:
            await scheduling.ready(self.store)
            if self.options.worker_id is not None:
                # A restart under the same name: our old claims died with the old process.
                freed = await self.store.release_worker(self.worker_id)
                if freed:
                    log.info("took back %d tasks of worker %s", freed, self.worker_id)
            watcher = await self.store.watch()
            watcher.event = self._wake
            self._finisher.start()
            self._side = [
                asyncio.create_task(self._renew_loop(), name="mel-lease-renewer"),
                asyncio.create_task(self._purge_loop(), name="mel-purger"),
            ]
            log.info("worker %s started on %r", self.worker_id, self.store)
            self.started.set()
            await self._claim_loop(watcher)
            await self._drain()
        finally:
            for side in self._side:
                side.cancel()
            await asyncio.gather(*self._side, return_exceptions=True)
            await self._finisher.close()
            if watcher is not None:
                await watcher.close()
            self._threads.shutdown(wait=False, cancel_futures=True)
            self.started.set()
            self._stopped.set()
            log.info("worker %s stopped after %d tasks", self.worker_id, self.ran)

    def request_stop(self, hard: bool = False) -> None:
        """Stop claiming; with ``hard`` also hand unfinished tasks back at once."""
        self._stopping.set()
        self._wake.set()
        if hard:
            self._hard_stop.set()

    async def stop(self, timeout: float | None = None) -> None:
        """Stop claiming and wait for running tasks; past ``timeout`` hand them back."""
        self.request_stop()
        try:
            await asyncio.wait_for(asyncio.shield(self._stopped.wait()), timeout)
        except TimeoutError:
            self.request_stop(hard=True)
            await self._stopped.wait()

    async def run_due(self, until_idle: bool = True) -> int:
        """Claim and run due tasks on this loop, in batches, until none is due (with
        ``until_idle``) or after one batch; return how many ran. For tests and scripts."""
        await scheduling.ready(self.store)
        self._finisher.start()
        total = 0
        try:
            while batch := await self.store.claim(
                self.worker_id, uuid.uuid4().hex, clock.now_ms(), None, self.options.lease_ms
            ):
                for item in batch:
                    self._start(item)
                await self._idle.wait()
                total += len(batch)
                if not until_idle:
                    break
        finally:
            await self._finisher.close()
            self._threads.shutdown(wait=False)
        return total

    # -- claiming -------------------------------------------------------------------

    def _capacity(self) -> int | None:
        size = self.options.batch_size
        if size > 0:
            return size
        if size == -1:
            return None
        return max(0, -size - len(self._running))

    async def _claim_loop(self, watcher: Watcher) -> None:
        backoff = 0.05
        while not self._stopping.is_set():
            capacity = self._capacity()
            # Until the next sleep picks its wake-up time, any write may be one this claim
            # misses: let every notification through.
            watcher.wake_ms = _ANY_WRITE
            self._wake.clear()
            if capacity == 0:
                await self._sleep(watcher, None, wait_slot=True)
                continue
            now = clock.now_ms()
            try:
                claims = await self.store.claim_next(
                    self.worker_id, uuid.uuid4().hex, now, capacity, self.options.lease_ms,
                    self.options.queues,
                )
            except SchemaError:
                raise  # no retry fixes a missing schema: say so and stop
            except Exception as exc:  # noqa: BLE001 - an outage must not kill the worker
                log.warning("claiming failed, retrying in %.2fs: %s", backoff, exc)
                await self._sleep(watcher, clock.now_ms() + int(backoff * 1000), wait_slot=False)
                backoff = min(backoff * 2, self.options.poll_interval, 5.0)
                continue
            backoff = 0.05
            for item in claims.tasks:
                self._start(item)
            next_due = claims.next_due_ms
            if next_due is not None and next_due <= now:
                if claims.tasks:
                    # A full claim: more are due. Claim again (capacity permitting) once
                    # the new tasks have started.
                    await asyncio.sleep(0)
                    continue
                # Became due between the claim and the look-up: look again, never spin.
                next_due = now + 1
            await self._sleep(watcher, next_due, wait_slot=False)

    async def _sleep(self, watcher: Watcher, next_due: int | None, wait_slot: bool) -> None:
        """Sleep until ``next_due``, the poll interval, a wake-up or a stop."""
        now = clock.now_ms()
        timeout_ms = int(self.options.poll_interval * 1000)
        if next_due is not None:
            timeout_ms = max(0, min(timeout_ms, next_due - now))
        watcher.wake_ms = now + timeout_ms
        if timeout_ms == 0 or self._wake.is_set():
            return
        # One timer and one event: this runs once per claim, so no tasks or wait_for.
        timer = asyncio.get_running_loop().call_later(timeout_ms / 1000, self._wake.set)
        self._waiting_slot = wait_slot
        try:
            await self._wake.wait()
        finally:
            self._waiting_slot = False
            timer.cancel()

    # -- running --------------------------------------------------------------------

    def _start(self, claimed: Claimed) -> None:
        running = _Running(claimed)
        self._running[claimed.id] = running
        self._idle.clear()
        running.task = asyncio.create_task(self._execute(running), name=f"mel-task-{claimed.id}")

    def _build(self, claimed: Claimed) -> tuple[TaskData, BaseJob]:
        data = loads(claimed.data)
        cls = registry.lookup(data.job)
        if cls is None:
            raise UnknownJob(
                f"no job class named {data.job!r} is imported in this worker "
                "(define or import it in the app module the worker loads)"
            )
        return data, cls._mel_from_data(data.params)

    async def _execute(self, running: _Running) -> None:
        claimed = running.claimed
        try:
            try:
                data, job = self._build(claimed)
            except Exception as exc:  # noqa: BLE001 - bad data must never stop a worker
                log.error("task %s cannot be read, moved to the failed set: %s", claimed.id, exc,
                          extra={"task_id": claimed.id})
                decision = outcome.unreadable(claimed, exc, clock.now_ms(),
                                              self.options.failed_ttl)
                self._submit(running, decision, None)
                return
            await self._run_job(running, data, job)
        except asyncio.CancelledError:
            # A hard stop: hand the task back so another worker runs it at once.
            if not running.submitted:
                self._submit(running, outcome.Decision(Release(claimed.id, claimed.token)),
                             None)
            raise

    async def _run_job(self, running: _Running, data: TaskData, job: BaseJob) -> None:
        claimed = running.claimed
        hooks = type(job).__mel_hooks__
        extra = {"task_id": claimed.id, "job": data.job}
        token = current_task.set((claimed.id, data.job))
        try:
            if "before_run" in hooks:
                await callbacks.acall(job.before_run, what="before_run", extra=extra)
            error: BaseException | None = None
            try:
                if type(job).__mel_async_run__:
                    await job.run()
                else:
                    ctx = contextvars.copy_context()
                    await asyncio.get_running_loop().run_in_executor(self._threads, ctx.run,
                                                                     job.run)
            except Exception as exc:  # noqa: BLE001 - a failing job is a failed attempt
                error = exc
            now = clock.now_ms()
            if error is None:
                decision = outcome.after_success(claimed, data, now)
                if "after_run" in hooks:
                    await callbacks.acall(job.after_run, True, what="after_run", extra=extra)
            else:
                decision = outcome.after_failure(claimed, data, error, now,
                                                 self.options.failed_ttl)
                if decision.retry:
                    task_log.warning("task %s (%s) failed, attempt %d, retrying: %s: %s",
                                     claimed.id, data.job, claimed.attempts + 1,
                                     type(error).__name__, error, extra=extra)
                else:
                    callbacks.report(error, f"task {claimed.id} ({data.job}) failed", extra)
                    if "after_run" in hooks:
                        await callbacks.acall(job.after_run, False, what="after_run",
                                              extra=extra)
            self._submit(running, decision, job)
        finally:
            current_task.reset(token)

    def _submit(self, running: _Running, decision: outcome.Decision, job: BaseJob | None
                ) -> None:
        """Hand the outcome to the finisher; the task counts as running (its lease renewed)
        until the store has applied it."""
        claimed = running.claimed
        extra = {"task_id": claimed.id}
        hooks = type(job).__mel_hooks__ if job is not None and decision.dequeue else frozenset()
        if "before_dequeue" in hooks:
            callbacks.call(job.before_dequeue, what="before_dequeue", extra=extra)  # type: ignore[union-attr]
        running.submitted = True

        def applied(ok: bool) -> None:
            if not ok:
                log.warning("task %s was taken over, replaced or cancelled while it ran; "
                            "its result was not written", claimed.id, extra=extra)
            if "after_dequeue" in hooks:
                callbacks.call(job.after_dequeue, ok, what="after_dequeue", extra=extra)  # type: ignore[union-attr]
            self.ran += 1
            if self._running.get(claimed.id) is running:
                del self._running[claimed.id]
            if self._waiting_slot:
                self._wake.set()
            if not self._running:
                self._idle.set()

        self._finisher.submit(decision.outcome, applied)

    # -- side loops -----------------------------------------------------------------

    async def _renew_loop(self) -> None:
        interval = self.options.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            held = [(i, r.claimed.token) for i, r in self._running.items()]
            if not held:
                continue
            try:
                kept = await self.store.renew(held, clock.now_ms(), self.options.lease_ms)
            except Exception as exc:  # noqa: BLE001 - user code or untrusted data must not stop Mel
                log.warning("renewing %d leases failed: %s", len(held), exc)
                continue
            for task_id, _ in held:
                if task_id not in kept and task_id in self._running:
                    log.warning("lost the lease on task %s (taken over, replaced or "
                                "cancelled)", task_id, extra={"task_id": task_id})

    async def _purge_loop(self) -> None:
        while True:
            await asyncio.sleep(60)
            with contextlib.suppress(Exception):
                await self.store.purge_failed(clock.now_ms())

    async def _drain(self) -> None:
        """Wait until every claimed task is finished and written; on a hard stop cancel the
        running ones (they hand themselves back) and wait a bounded time for the writes."""
        idle = asyncio.ensure_future(self._idle.wait())
        hard = asyncio.ensure_future(self._hard_stop.wait())
        try:
            await asyncio.wait([idle, hard], return_when=asyncio.FIRST_COMPLETED)
            if idle.done():
                return
            tasks = [r.task for r in self._running.values() if r.task and not r.task.done()]
            log.warning("hard stop: handing %d unfinished tasks back", len(tasks))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # With the store down the hand-backs cannot be written: their leases lapse instead.
            await asyncio.wait([idle], timeout=10)
        finally:
            idle.cancel()
            hard.cancel()


def options_from_settings(**overrides: object) -> WorkerOptions:
    """Worker options from ``mel.settings``, with ``overrides`` (None values ignored)."""
    s = config.current
    opts = WorkerOptions(
        batch_size=s.batch_size,
        poll_interval=s.poll_interval,
        lease_ms=s.lease_ms,
        worker_id=s.worker_id,
        failed_ttl=s.failed_ttl,
    )
    for key, value in overrides.items():
        if value is not None:
            setattr(opts, key, value)
    return opts
