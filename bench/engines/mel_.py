"""mel: ``run_now`` / ``arun_now``, bulk through ``mel.transaction()``, ``mel worker``."""

from __future__ import annotations

import sys
from pathlib import Path

import mel
import mel.testing
from bench.apps.mel_app import Incr, Late, Noop
from bench.engines.base import Engine

_JOBS = {"incr": Incr, "noop": Noop}


def _job(kind: str, sched: float) -> mel.Job:
    return Late(sched=sched) if kind == "late" else _JOBS[kind]()


class Adapter(Engine):
    name = "mel"
    has_sync = has_async = has_bulk = True

    async def aopen(self) -> None:
        url = self.store_url
        if self.backend in ("redis", "postgres"):
            url += "?namespace=bench"
        self.store_url = url
        mel.configure(store=url)
        store = mel.settings.store
        await store.migrate()
        await mel.testing.atruncate()

    async def aclose(self) -> None:
        store = mel.settings.store
        if store is not None:
            await store.close()

    def enqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        job = _job(kind, sched)
        if delay:
            job.run_in(delay)
        else:
            job.run_now()

    async def aenqueue(self, kind: str, delay: float = 0.0, sched: float = 0.0) -> None:
        job = _job(kind, sched)
        if delay:
            await job.arun_in(delay)
        else:
            await job.arun_now()

    def bulk(self, kind: str, n: int, delay: float = 0.0) -> None:
        with mel.transaction() as tx:
            for _ in range(n):
                job = _job(kind, 0.0)
                if delay:
                    job.run_in(delay, tx=tx)
                else:
                    job.run_now(tx=tx)

    def pending(self) -> int:
        counts = mel.tasks.counts()
        return counts["scheduled"] + counts["running"] + counts["retrying"]

    def worker_cmd(self) -> list[str]:
        mel_bin = str(Path(sys.executable).parent / "mel")
        return [mel_bin, "worker", "bench.apps.mel_app", "--store", self.store_url,
                "--log-level", "warning"]

