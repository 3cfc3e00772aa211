"""Dramatiq's benchmark actors (``dramatiq bench.apps.dramatiq_app``)."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bench.apps import body
from bench.common import QUEUE_REDIS

dramatiq.set_broker(RedisBroker(url=QUEUE_REDIS))


@dramatiq.actor(max_retries=0)
def incr() -> None:
    body.incr()


@dramatiq.actor(max_retries=0)
def noop() -> None:
    pass


@dramatiq.actor(max_retries=0)
def late(sched: float) -> None:
    body.late(sched)
