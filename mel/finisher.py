"""Batching finishes: many tasks' outcomes go to the store in one call.

A busy worker finishes thousands of tasks a second; one store round trip each would be
the bottleneck. Outcomes queue here and a single flusher sends whatever has gathered,
one batch at a time, resolving each task's future with whether the store applied it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from mel import clock
from mel.stores.base import Outcome, Store

log = logging.getLogger("mel.worker")

MAX_BATCH = 5000


class Finisher:
    """Queues outcomes and flushes them in batches; retries through store outages."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[tuple[Outcome, Callable[[bool], None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the flusher on the running loop."""
        self._task = asyncio.create_task(self._run(), name="mel-finisher")

    def submit(self, outcome: Outcome, done: Callable[[bool], None]) -> None:
        """Queue ``outcome``; ``done(applied)`` is called once the store applied or refused it.

        A callback, not a future per task: at tens of thousands of tasks a second the
        futures and their wake-ups cost more than the store calls.
        """
        self._pending.append((outcome, done))
        self._wake.set()

    async def _run(self) -> None:
        delay = 0.05
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                try:
                    applied = await self._store.finish([o for o, _ in batch], clock.now_ms())
                except Exception as exc:  # noqa: BLE001 - user code or untrusted data must not stop Mel
                    # The tasks stay leased (and renewed) meanwhile, so nothing is lost.
                    log.warning("finishing %d tasks failed, retrying in %.2fs: %s",
                                len(batch), delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                delay = 0.05
                del self._pending[: len(batch)]
                for (_, done), ok in zip(batch, applied, strict=True):
                    try:
                        done(ok)
                    except Exception:
                        log.exception("finishing callback failed")

    async def close(self) -> None:
        """Stop the flusher (callers wait for their outcomes to be applied first)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
