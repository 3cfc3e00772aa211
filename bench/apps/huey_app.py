"""Huey's benchmark tasks (``huey_consumer bench.apps.huey_app.huey``): RedisHuey, or
SqliteHuey when BENCH_STORE names a SQLite file."""

from __future__ import annotations

import os

from huey import RedisHuey, SqliteHuey

from bench.apps import body
from bench.common import QUEUE_DB, REDIS_HOST, REDIS_PORT

_store = os.environ.get("BENCH_STORE", "")
if _store.startswith("sqlite:///"):
    huey: RedisHuey | SqliteHuey = SqliteHuey("bench", filename=_store.removeprefix("sqlite:///"),
                                              results=False)
else:
    huey = RedisHuey("bench", host=REDIS_HOST, port=REDIS_PORT, db=QUEUE_DB, results=False)


@huey.task()
def incr() -> None:
    body.incr()


@huey.task()
def noop() -> None:
    pass


@huey.task()
def late(sched: float) -> None:
    body.late(sched)
