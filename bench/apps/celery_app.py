"""Celery's benchmark tasks (``celery -A bench.apps.celery_app worker``)."""

from __future__ import annotations

from celery import Celery

from bench.apps import body
from bench.common import QUEUE_REDIS

app = Celery("bench", broker=QUEUE_REDIS)
app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True)


@app.task
def incr() -> None:
    body.incr()


@app.task
def noop() -> None:
    pass


@app.task
def late(sched: float) -> None:
    body.late(sched)
