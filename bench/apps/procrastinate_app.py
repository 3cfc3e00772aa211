"""Procrastinate's benchmark tasks
(``procrastinate --app bench.apps.procrastinate_app.app worker``)."""

from __future__ import annotations

import os

import procrastinate

from bench.apps import body

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(conninfo=os.environ.get("BENCH_STORE", "")),
)


@app.task(name="incr")
async def incr() -> None:
    await body.aincr()


@app.task(name="noop")
async def noop() -> None:
    pass


@app.task(name="late")
async def late(sched: float) -> None:
    await body.alate(sched)
