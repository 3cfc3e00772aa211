"""Procrastinate: ``defer_async`` (+ ``batch_defer_async``),
``procrastinate --app bench.apps.procrastinate_app.app worker --concurrency 100``."""

from __future__ import annotations

import os
from typing import Any

from bench.engines.base import Engine


class Adapter(Engine):
    name = "procrastinate"
    has_async = has_bulk = True

    async def aopen(self) -> None:
        os.environ["BENCH_STORE"] = self.store_url
        import importlib

        import bench.apps.procrastinate_app as app_module

        app_module = importlib.reload(app_module)
        self.app = app_module.app
        await self.app.open_async()
        await self.app.schema_manager.apply_schema_async()
        self.tasks: dict[str, Any] = {"incr": app_module.incr, "noop": app_module.noop,
                                      "late": app_module.late}

    async def aclose(self) -> None:
        await self.app.close_async()

    async def aenqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        kwargs = {"sched": sched} if kind == "late" else {}
        task = self.tasks[kind]
        if delay:
            await task.configure(schedule_in={"seconds": delay}).defer_async(**kwargs)
        else:
            await task.defer_async(**kwargs)

    def bulk(self, kind: str, n: int, delay: float = 0.0) -> None:
        task = self.tasks[kind]
        deferrer = task.configure(schedule_in={"seconds": delay}) if delay else task
        self.run(deferrer.batch_defer_async(*({} for _ in range(n))))

    def worker_cmd(self) -> list[str]:
        return [self.bin("procrastinate"), "--app", "bench.apps.procrastinate_app.app",
                "worker", "--concurrency", "100"]
