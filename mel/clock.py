"""The one time source: milliseconds since the Unix epoch, patchable in tests.

Store and schedule logic never read the wall clock themselves; they are handed ``now_ms``
by their caller, which reads it here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_source: Callable[[], int] = lambda: time.time_ns() // 1_000_000  # noqa: E731


def now_ms() -> int:
    """Return the current time in whole milliseconds since the epoch (UTC)."""
    return _source()


def set_source(source: Callable[[], int] | None) -> None:
    """Replace the time source (``None`` restores the system clock); for tests."""
    global _source
    _source = source if source is not None else (lambda: time.time_ns() // 1_000_000)


def to_ms(when: datetime, zone: tzinfo) -> int:
    """Convert ``when`` to epoch milliseconds; a naive datetime is read in ``zone``."""
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=zone)
    # Integer timedelta arithmetic: float timestamps lose the last millisecond far from 1970.
    return (when - _EPOCH) // _MS


def zone(value: str | tzinfo, name: str = "tz") -> ZoneInfo:
    """An IANA zone from its name or a ZoneInfo; ValueError for an unknown name."""
    if isinstance(value, ZoneInfo):
        return value
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
    raise TypeError(f"{name} must be an IANA zone name or a ZoneInfo, got {value!r}")


def from_ms(ms: int) -> datetime:
    """Return an aware UTC datetime for epoch milliseconds."""
    return _EPOCH + timedelta(milliseconds=ms)


def duration_ms(value: float | timedelta, name: str) -> int:
    """Convert seconds or a timedelta to whole milliseconds, rejecting other types."""
    if isinstance(value, timedelta):
        return round(value.total_seconds() * 1000)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be seconds (int or float) or a timedelta, got {value!r}")
    return round(value * 1000)
