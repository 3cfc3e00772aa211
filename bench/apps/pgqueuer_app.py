"""PgQueuer's benchmark entrypoints (``pgq run bench.apps.pgqueuer_app:main``)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from pgqueuer import PgQueuer
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job

from bench.apps import body


@asynccontextmanager
async def main() -> AsyncIterator[PgQueuer]:
    connection = await asyncpg.connect(os.environ["BENCH_STORE"])
    pgq = PgQueuer(AsyncpgDriver(connection))

    @pgq.entrypoint("incr")
    async def incr(job: Job) -> None:
        await body.aincr()

    @pgq.entrypoint("noop")
    async def noop(job: Job) -> None:
        pass

    @pgq.entrypoint("late")
    async def late(job: Job) -> None:
        await body.alate(float(job.payload or b"0"))

    try:
        yield pgq
    finally:
        await connection.close()
