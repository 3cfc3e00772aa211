"""arq: ``ArqRedis.enqueue_job`` (async only, no bulk), ``arq WorkerSettings``."""

from __future__ import annotations

from datetime import timedelta

from arq import create_pool

from bench.apps.arq_app import REDIS
from bench.engines.base import Engine


class Adapter(Engine):
    name = "arq"
    has_async = True

    async def aopen(self) -> None:
        self.pool = await create_pool(REDIS)

    async def aclose(self) -> None:
        await self.pool.aclose()

    async def aenqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        args = (sched,) if kind == "late" else ()
        await self.pool.enqueue_job(kind, *args,
                                    _defer_by=timedelta(seconds=delay) if delay else None)

    def worker_cmd(self) -> list[str]:
        return [self.bin("arq"), "bench.apps.arq_app.WorkerSettings"]
