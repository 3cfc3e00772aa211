"""streaq: ``await task.enqueue()`` / ``.start(delay=)``, bulk ``Worker.enqueue_many``,
``streaq run bench.apps.streaq_app:worker`` (concurrency 100)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bench.apps import streaq_app
from bench.engines.base import Engine

_TASKS: dict[str, Any] = {"incr": streaq_app.incr, "noop": streaq_app.noop,
                          "late": streaq_app.late}


class Adapter(Engine):
    name = "streaq"
    has_async = has_bulk = True

    async def aopen(self) -> None:
        # streaq's client must be entered and left in one task: a holder task keeps it open
        ready, self.closing = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with streaq_app.worker:
                ready.set()
                await self.closing.wait()

        self.holder = asyncio.get_running_loop().create_task(hold())
        await ready.wait()

    async def aclose(self) -> None:
        self.closing.set()
        await self.holder

    async def aenqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        args = (sched,) if kind == "late" else ()
        task = _TASKS[kind].enqueue(*args)
        if delay:
            task = task.start(delay=timedelta(seconds=delay))
        await task

    def bulk(self, kind: str, n: int, delay: float = 0.0) -> None:
        async def go() -> None:
            tasks = [_TASKS[kind].enqueue() for _ in range(n)]
            if delay:
                tasks = [t.start(delay=timedelta(seconds=delay)) for t in tasks]
            await streaq_app.worker.enqueue_many(tasks)

        self.run(go())

    def worker_cmd(self) -> list[str]:
        return [self.bin("streaq"), "run", "bench.apps.streaq_app:worker"]
