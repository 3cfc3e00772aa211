"""PgQueuer: ``Queries.enqueue`` (lists for bulk), ``pgq run bench.apps.pgqueuer_app:main``."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries

from bench.engines.base import Engine


class Adapter(Engine):
    name = "pgqueuer"
    has_async = has_bulk = True

    async def aopen(self) -> None:
        self.conn = await asyncpg.connect(self.store_url)
        self.queries = Queries(AsyncpgDriver(self.conn))
        await self.queries.install()

    async def aclose(self) -> None:
        await self.conn.close()

    async def aenqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        payload = repr(sched).encode() if kind == "late" else None
        await self.queries.enqueue(kind, payload,
                                   execute_after=timedelta(seconds=delay) if delay else None)

    def bulk(self, kind: str, n: int, delay: float = 0.0) -> None:
        after = timedelta(seconds=delay) if delay else None
        self.run(self.queries.enqueue([kind] * n, [None] * n, [0] * n, [after] * n))

    def worker_cmd(self) -> list[str]:
        # (its --log-level flag fails on pgqueuer 1.6: 'str' object has no attribute 'name')
        return [self.bin("pgq"), "run", "bench.apps.pgqueuer_app:main"]
