"""RQ's benchmark functions (``rq worker --with-scheduler``)."""

from __future__ import annotations

from bench.apps import body


def incr() -> None:
    body.incr()


def noop() -> None:
    pass


def late(sched: float) -> None:
    body.late(sched)
