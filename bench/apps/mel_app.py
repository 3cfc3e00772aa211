"""Mel's benchmark jobs (``mel worker bench.apps.mel_app --store URL``)."""

from __future__ import annotations

import mel
from bench.apps import body


class Incr(mel.Job, name="bench.Incr"):
    async def run(self) -> None:
        await body.aincr()


class Noop(mel.Job, name="bench.Noop"):
    async def run(self) -> None:
        pass


class Late(mel.Job, name="bench.Late"):
    sched: float

    async def run(self) -> None:
        await body.alate(self.sched)
