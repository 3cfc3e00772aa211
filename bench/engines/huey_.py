"""Huey: calling the task / ``task.schedule(delay=)``, ``huey_consumer`` (8 worker threads);
RedisHuey on Redis, SqliteHuey on SQLite."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

from bench.engines.base import Engine


class Adapter(Engine):
    name = "huey"
    has_sync = True

    async def aopen(self) -> None:
        os.environ["BENCH_STORE"] = self.store_url
        import bench.apps.huey_app as app

        self.app: ModuleType = importlib.reload(app)
        self.tasks: dict[str, Any] = {"incr": app.incr, "noop": app.noop, "late": app.late}

    def enqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        args = (sched,) if kind == "late" else ()
        if delay:
            self.tasks[kind].schedule(args, delay=delay)
        else:
            self.tasks[kind](*args)

    def worker_cmd(self) -> list[str]:
        return [self.bin("huey_consumer"), "bench.apps.huey_app.huey", "-k", "thread",
                "-w", "8", "-q"]
