"""SAQ: ``Queue.enqueue`` (async only, no bulk), ``saq bench.apps.saq_app.settings``; on
Redis or PostgreSQL."""

from __future__ import annotations

import time

from saq import Queue

from bench.engines.base import Engine


class Adapter(Engine):
    name = "saq"
    has_async = True

    async def aopen(self) -> None:
        self.queue = Queue.from_url(self.store_url)
        await self.queue.connect()

    async def aclose(self) -> None:
        await self.queue.disconnect()

    async def aenqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        kwargs = {"sched": sched} if kind == "late" else {}
        if delay:
            await self.queue.enqueue(kind, scheduled=int(time.time() + delay), **kwargs)
        else:
            await self.queue.enqueue(kind, **kwargs)

    def worker_cmd(self) -> list[str]:
        return [self.bin("saq"), "bench.apps.saq_app.settings", "--workers", "1"]
