"""RQ: ``Queue.enqueue`` / ``enqueue_in``, bulk ``enqueue_many``, ``rq worker --with-scheduler``."""

from __future__ import annotations

from datetime import timedelta

from redis import Redis
from rq import Queue

from bench import common
from bench.apps import rq_app
from bench.engines.base import Engine

_FUNCS = {"incr": rq_app.incr, "noop": rq_app.noop, "late": rq_app.late}


class Adapter(Engine):
    name = "rq"
    has_sync = has_bulk = True

    async def aopen(self) -> None:
        self.queue = Queue("default", connection=Redis.from_url(common.QUEUE_REDIS))

    def enqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        args = (sched,) if kind == "late" else ()
        if delay:
            self.queue.enqueue_in(timedelta(seconds=delay), _FUNCS[kind], *args)
        else:
            self.queue.enqueue(_FUNCS[kind], *args)

    def bulk(self, kind: str, n: int, delay: float = 0.0) -> None:
        if delay:
            # enqueue_many has no delay; the scheduled registry is filled one call each
            for _ in range(n):
                self.enqueue(kind, delay)
            return
        self.queue.enqueue_many([Queue.prepare_data(_FUNCS[kind]) for _ in range(n)])

    def worker_cmd(self) -> list[str]:
        return [self.bin("rq"), "worker", "--with-scheduler", "-u", common.QUEUE_REDIS,
                "-q", "default"]
