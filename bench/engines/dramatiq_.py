"""Dramatiq: ``actor.send`` / ``send_with_options(delay=)``, ``dramatiq bench.apps.dramatiq_app``
(one process, its default 8 threads)."""

from __future__ import annotations

from bench.apps import dramatiq_app
from bench.engines.base import Engine

_ACTORS = {"incr": dramatiq_app.incr, "noop": dramatiq_app.noop, "late": dramatiq_app.late}


class Adapter(Engine):
    name = "dramatiq"
    has_sync = True

    def enqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        args = (sched,) if kind == "late" else ()
        if delay:
            _ACTORS[kind].send_with_options(args=args, delay=int(delay * 1000))
        else:
            _ACTORS[kind].send(*args)

    def worker_cmd(self) -> list[str]:
        return [self.bin("dramatiq"), "bench.apps.dramatiq_app", "--processes", "1",
                "--threads", "8"]
