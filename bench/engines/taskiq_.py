"""taskiq + taskiq-redis: ``await task.kiq()`` on a RedisStreamBroker,
``taskiq worker bench.apps.taskiq_app:broker`` (one process). Delayed tasks need the
separate ``taskiq scheduler`` process and a schedule source: not measured (n/a)."""

from __future__ import annotations

from bench.apps import taskiq_app
from bench.engines.base import Engine, NotSupported

_TASKS = {"incr": taskiq_app.incr, "noop": taskiq_app.noop, "late": taskiq_app.late}


class Adapter(Engine):
    name = "taskiq"
    has_async = True
    has_delay = False

    async def aopen(self) -> None:
        await taskiq_app.broker.startup()

    async def aclose(self) -> None:
        await taskiq_app.broker.shutdown()

    async def aenqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        if delay:
            raise NotSupported("delays need the separate taskiq scheduler process")
        if kind == "late":
            await _TASKS[kind].kiq(sched)
        else:
            await _TASKS[kind].kiq()

    def worker_cmd(self) -> list[str]:
        return [self.bin("taskiq"), "worker", "bench.apps.taskiq_app:broker", "--workers", "1",
                "--max-async-tasks", "100", "--log-level", "WARNING"]
