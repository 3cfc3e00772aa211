"""Celery: ``task.delay`` / ``apply_async(countdown=)``,
``celery -A bench.apps.celery_app worker`` (one process, thread pool of 8)."""

from __future__ import annotations

from bench.apps import celery_app
from bench.engines.base import Engine

_TASKS = {"incr": celery_app.incr, "noop": celery_app.noop, "late": celery_app.late}


class Adapter(Engine):
    name = "celery"
    has_sync = True

    def enqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        args = (sched,) if kind == "late" else ()
        if delay:
            _TASKS[kind].apply_async(args, countdown=delay)
        else:
            _TASKS[kind].delay(*args)

    def worker_cmd(self) -> list[str]:
        return [self.bin("celery"), "-A", "bench.apps.celery_app", "worker", "--pool",
                "threads", "--concurrency", "8", "--loglevel", "WARNING", "--without-gossip",
                "--without-mingle", "--without-heartbeat"]
