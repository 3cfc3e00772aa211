"""Job templates: mixins that give a job some of the scheduling methods, as Mel's do.

``mel.Job`` has them all. A job built on :class:`At` has no ``run_now`` attribute at all,
so a type checker flags the call. Templates combine: ``class X(At, Every)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from mel import scheduling
from mel.job import BaseJob
from mel.task import Retries

if TYPE_CHECKING:
    from mel.transaction import Transaction

__all__ = ["At", "Every", "In", "Instant", "Job", "Now", "On", "Recurring"]

Until = datetime | timedelta | None


class Now(BaseJob, _template=True):
    """A job that can be scheduled to run now."""

    def run_now(
        self, *, id: str | None = None, retries: Retries = None, tx: Transaction | None = None,
        force: bool = False, queue: str = "default",
    ) -> str | None:
        """Schedule this job to run now; the task id, or None (duplicate id, no storage)."""
        return scheduling.enqueue(
            self, scheduling.now(),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )

    async def arun_now(
        self, *, id: str | None = None, retries: Retries = None, tx: Transaction | None = None,
        force: bool = False, queue: str = "default",
    ) -> str | None:
        """Async twin of :meth:`run_now`."""
        return await scheduling.aenqueue(
            self, scheduling.now(),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )


class In(BaseJob, _template=True):
    """A job that can be scheduled to run after a delay."""

    def run_in(
        self, delay: float | timedelta, *, id: str | None = None, retries: Retries = None,
        tx: Transaction | None = None, force: bool = False, queue: str = "default",
    ) -> str | None:
        """Schedule this job after ``delay`` (seconds or timedelta; negative prioritises)."""
        return scheduling.enqueue(
            self, scheduling.after(delay),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )

    async def arun_in(
        self, delay: float | timedelta, *, id: str | None = None, retries: Retries = None,
        tx: Transaction | None = None, force: bool = False, queue: str = "default",
    ) -> str | None:
        """Async twin of :meth:`run_in`."""
        return await scheduling.aenqueue(
            self, scheduling.after(delay),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )


class At(BaseJob, _template=True):
    """A job that can be scheduled to run at a time."""

    def run_at(
        self, when: datetime, *, id: str | None = None, retries: Retries = None,
        tx: Transaction | None = None, force: bool = False, queue: str = "default",
    ) -> str | None:
        """Schedule this job at ``when`` (naive: in ``settings.timezone``; past prioritises)."""
        return scheduling.enqueue(
            self, scheduling.at(when),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )

    async def arun_at(
        self, when: datetime, *, id: str | None = None, retries: Retries = None,
        tx: Transaction | None = None, force: bool = False, queue: str = "default",
    ) -> str | None:
        """Async twin of :meth:`run_at`."""
        return await scheduling.aenqueue(
            self, scheduling.at(when),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )


class Every(BaseJob, _template=True):
    """A job that can be scheduled to run at an interval."""

    def run_every(
        self, interval: float | timedelta, start: datetime | None = None, until: Until = None,
        *, id: str | None = None, retries: Retries = None, tx: Transaction | None = None,
        force: bool = False, queue: str = "default",
    ) -> str | None:
        """Run every ``interval``: first at ``start`` (default now + interval), on a grid
        anchored there, until ``until`` (a datetime, or a timedelta from the first run)."""
        return scheduling.enqueue(
            self, scheduling.every(interval, start, until),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )

    async def arun_every(
        self, interval: float | timedelta, start: datetime | None = None, until: Until = None,
        *, id: str | None = None, retries: Retries = None, tx: Transaction | None = None,
        force: bool = False, queue: str = "default",
    ) -> str | None:
        """Async twin of :meth:`run_every`."""
        return await scheduling.aenqueue(
            self, scheduling.every(interval, start, until),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )


class On(BaseJob, _template=True):
    """A job that can be scheduled on a cron schedule."""

    def run_on(
        self, expr: str, start: datetime | None = None, until: Until = None,
        tz: str | tzinfo | None = None, *, id: str | None = None, retries: Retries = None,
        tx: Transaction | None = None, force: bool = False, queue: str = "default",
    ) -> str | None:
        """Run on the cron schedule ``expr`` (5 fields, or 6 with seconds first, or a macro
        such as ``@daily``), evaluated in ``tz``; first run strictly after ``start``."""
        return scheduling.enqueue(
            self, scheduling.on(expr, start, until, tz),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )

    async def arun_on(
        self, expr: str, start: datetime | None = None, until: Until = None,
        tz: str | tzinfo | None = None, *, id: str | None = None, retries: Retries = None,
        tx: Transaction | None = None, force: bool = False, queue: str = "default",
    ) -> str | None:
        """Async twin of :meth:`run_on`."""
        return await scheduling.aenqueue(
            self, scheduling.on(expr, start, until, tz),
            id=id, retries=retries, tx=tx, force=force, queue=queue,
        )


class Instant(Now, In, At, _template=True):
    """Now + In + At: a job that runs once."""


class Recurring(Every, On, _template=True):
    """Every + On: a job that recurs."""


class Job(Instant, Recurring, _template=True):
    """A job with every scheduling method. Subclass it, annotate parameters, define run()."""
