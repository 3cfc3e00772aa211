"""What happens to a task after one run: pure decisions, no I/O.

The worker runs the job; this module decides, from the result, the stored data and the
time, whether the task is deleted, retried, moved to the failed set or rescheduled for
its next occurrence. Keeping it pure keeps it testable without waiting for anything.
"""

from __future__ import annotations

import traceback as tb
from dataclasses import dataclass
from datetime import timedelta

from mel.stores.base import Claimed, Delete, Fail, FailedTask, Outcome, Reschedule
from mel.task import TaskData


@dataclass(frozen=True, slots=True)
class Decision:
    """The store write for one run, and which callbacks the worker owes."""

    outcome: Outcome
    #: the run failed for good (error_handler and after_run(False) are owed)
    final_failure: bool = False
    #: the task leaves the schedule (before/after_dequeue are owed)
    dequeue: bool = False
    #: a retry was scheduled (no after_run)
    retry: bool = False


def failed_record(
    claimed: Claimed, error: BaseException, now_ms: int, failed_ttl: timedelta | None
) -> FailedTask:
    """A failed-set record for ``claimed`` failing with ``error``."""
    expires = None if failed_ttl is None else now_ms + int(failed_ttl.total_seconds() * 1000)
    return FailedTask(
        claimed.id,
        claimed.queue,
        claimed.data,
        claimed.attempts,
        f"{type(error).__name__}: {error}",
        "".join(tb.format_exception(error)),
        now_ms,
        expires,
    )


def _next_occurrence(claimed: Claimed, data: TaskData, now_ms: int) -> Outcome:
    assert data.schedule is not None and data.occurrence_ms is not None
    following = data.schedule.next_run(data.occurrence_ms, now_ms)
    if following is None:
        return Delete(claimed.id, claimed.token)
    return Reschedule(
        claimed.id, claimed.token, following, 0, data.with_occurrence(following).dumps()
    )


def after_success(claimed: Claimed, data: TaskData, now_ms: int) -> Decision:
    """A run succeeded: an instant task is done; a recurring one moves to its next run."""
    if data.schedule is None:
        return Decision(Delete(claimed.id, claimed.token), dequeue=True)
    outcome = _next_occurrence(claimed, data, now_ms)
    return Decision(outcome, dequeue=isinstance(outcome, Delete))


def after_failure(
    claimed: Claimed,
    data: TaskData,
    error: BaseException,
    now_ms: int,
    failed_ttl: timedelta | None,
) -> Decision:
    """A run raised: retry after the next backoff, unless retries are used up or (for a
    recurring task) the retry would reach the next scheduled run; then it failed for good."""
    backoffs = data.backoffs
    if claimed.attempts < len(backoffs):
        retry_at = now_ms + backoffs[claimed.attempts]
        following = None
        if data.schedule is not None and data.occurrence_ms is not None:
            following = data.schedule.next_run(data.occurrence_ms, now_ms)
        if following is None or retry_at < following:
            return Decision(
                Reschedule(claimed.id, claimed.token, retry_at, claimed.attempts + 1,
                           claimed.data),
                retry=True,
            )
    if data.schedule is None:
        record = failed_record(claimed, error, now_ms, failed_ttl)
        return Decision(Fail(claimed.id, claimed.token, record), final_failure=True,
                        dequeue=True)
    outcome = _next_occurrence(claimed, data, now_ms)
    return Decision(outcome, final_failure=True, dequeue=isinstance(outcome, Delete))


def unreadable(
    claimed: Claimed, error: BaseException, now_ms: int, failed_ttl: timedelta | None
) -> Decision:
    """Stored data that cannot become a job goes straight to the failed set."""
    return Decision(Fail(claimed.id, claimed.token,
                         failed_record(claimed, error, now_ms, failed_ttl)))
