"""Pure schedule maths for recurring tasks.

Every instant is an integer count of milliseconds since the Unix epoch (UTC). Nothing in
this module reads the clock: callers pass ``now_ms``, which keeps the maths deterministic
and testable.

Two kinds of schedule exist:

* :class:`Every` runs on a fixed grid ``anchor + k * interval``; the grid never drifts with
  worker latency, and a backlog of missed runs collapses into a single run.
* :class:`Cron` runs on a cron expression evaluated in an IANA time zone. Wall-clock times
  skipped by a DST gap run at the first instant after the gap; wall-clock times repeated by
  a DST overlap run once, at their first occurrence.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

__all__ = ["MACROS", "Cron", "Every", "Schedule", "cron", "every", "from_json", "validate_cron"]

MACROS: Final[dict[str, str]] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""Cron macros (cronsim has none) and the 5-field expressions they stand for."""

_EPOCH: Final = datetime(1970, 1, 1)
_SECOND: Final = timedelta(seconds=1)
# A fixed origin for validation probes, so validate_cron() never depends on the clock.
# Cron has no year field and every pattern recurs within cronsim's 50-year search window.
_PROBE_ORIGIN: Final = datetime(2000, 1, 1)


class Schedule(ABC):
    """A recurring schedule; the concrete kinds are :class:`Every` and :class:`Cron`."""

    __slots__ = ()

    until_ms: int | None

    @abstractmethod
    def next_run(self, occurrence_ms: int, now_ms: int) -> int | None:
        """Next run after the occurrence scheduled at ``occurrence_ms``.

        Runs missed before ``now_ms`` collapse into one: the result is strictly later than
        both arguments. ``None`` means the schedule has ended (the run would be past until).
        """

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """Compact JSON-able dict with a ``kind`` key (``'every'`` or ``'cron'``)."""

    @abstractmethod
    def describe(self) -> str:
        """Human-readable text, e.g. ``'every 10s'``."""


@dataclass(frozen=True, slots=True)
class Every(Schedule):
    """Runs at ``anchor_ms + k * interval_ms`` (k >= 0), up to ``until_ms`` inclusive."""

    interval_ms: int
    anchor_ms: int
    until_ms: int | None = None

    def __post_init__(self) -> None:
        _check_int("interval_ms", self.interval_ms)
        _check_int("anchor_ms", self.anchor_ms)
        _check_until(self.until_ms)
        if self.interval_ms <= 0:
            raise ValueError(f"interval must be positive, got {self.interval_ms}ms")
        if self.until_ms is not None and self.until_ms < self.anchor_ms:
            raise ValueError("until is before the first run")

    def next_run(self, occurrence_ms: int, now_ms: int) -> int | None:
        """Smallest grid point strictly after both the occurrence and now (None past until)."""
        after = max(occurrence_ms, now_ms)
        steps = max((after - self.anchor_ms) // self.interval_ms + 1, 0)
        run = self.anchor_ms + steps * self.interval_ms
        return None if _past(run, self.until_ms) else run

    def to_json(self) -> dict[str, Any]:
        """``{'kind': 'every', 'interval_ms', 'anchor_ms'[, 'until_ms']}``."""
        data: dict[str, Any] = {
            "kind": "every",
            "interval_ms": self.interval_ms,
            "anchor_ms": self.anchor_ms,
        }
        if self.until_ms is not None:
            data["until_ms"] = self.until_ms
        return data

    def describe(self) -> str:
        """E.g. ``'every 1m30s'``, with an ``until`` suffix when bounded."""
        return f"every {_format_duration(self.interval_ms)}{_until_suffix(self.until_ms)}"


@dataclass(frozen=True, slots=True)
class Cron(Schedule):
    """Runs when the cron expression matches the wall clock of zone ``tz`` (an IANA name).

    The expression is normalised on construction (macros expanded, whitespace collapsed).
    """

    expr: str
    tz: str
    until_ms: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.expr, str):
            raise ValueError("cron expression must be a string")
        if not isinstance(self.tz, str):
            raise ValueError("tz must be an IANA time zone name")
        _check_until(self.until_ms)
        _zone(self.tz)
        # Bypasses the frozen guard once, so equal schedules compare and serialise equally.
        object.__setattr__(self, "expr", validate_cron(self.expr))

    def next_run(self, occurrence_ms: int, now_ms: int) -> int | None:
        """First match strictly after both the occurrence and now (None past until)."""
        run = _next_match(self.expr, _zone(self.tz), max(occurrence_ms, now_ms))
        return None if run is None or _past(run, self.until_ms) else run

    def to_json(self) -> dict[str, Any]:
        """``{'kind': 'cron', 'expr', 'tz'[, 'until_ms']}``."""
        data: dict[str, Any] = {"kind": "cron", "expr": self.expr, "tz": self.tz}
        if self.until_ms is not None:
            data["until_ms"] = self.until_ms
        return data

    def describe(self) -> str:
        """E.g. ``'cron 0 */2 * * * (Africa/Accra)'``, with an ``until`` suffix when bounded."""
        return f"cron {self.expr} ({self.tz}){_until_suffix(self.until_ms)}"


def every(
    interval_ms: int,
    *,
    now_ms: int,
    start_ms: int | None = None,
    until_ms: int | None = None,
    until_delta_ms: int | None = None,
) -> tuple[Every, int]:
    """Validate an interval schedule and return ``(schedule, first_run_ms)``.

    The first run is ``start_ms``, or ``now_ms + interval_ms`` when no start is given; it
    also anchors the grid. ``until_ms`` is absolute and ``until_delta_ms`` is relative to
    the first run; both are inclusive. Raises ``ValueError`` for a non-positive interval,
    an until before the first run, or both until forms at once.
    """
    _check_int("interval_ms", interval_ms)
    if interval_ms <= 0:
        raise ValueError(f"interval must be positive, got {interval_ms}ms")
    first = now_ms + interval_ms if start_ms is None else start_ms
    until = _resolve_until(first, until_ms, until_delta_ms)
    return Every(interval_ms, first, until), first


def cron(
    expr: str,
    *,
    tz: ZoneInfo | str,
    now_ms: int,
    start_ms: int | None = None,
    until_ms: int | None = None,
    until_delta_ms: int | None = None,
) -> tuple[Cron, int]:
    """Validate a cron schedule and return ``(schedule, first_run_ms)``.

    The first run is the first match strictly after ``start_ms`` (default ``now_ms``),
    evaluated in ``tz``. Until forms behave as in :func:`every`. Raises ``ValueError`` for an
    invalid or never-matching expression, a zone without an IANA key, or a bad until.
    """
    key = _zone_key(tz)
    normalised = validate_cron(expr)
    first = _next_match(normalised, _zone(key), now_ms if start_ms is None else start_ms)
    if first is None:
        raise ValueError(f"cron expression {expr!r} never matches after the start time")
    until = _resolve_until(first, until_ms, until_delta_ms)
    return Cron(normalised, key, until), first


def validate_cron(expr: str) -> str:
    """Return the normalised expression (macro expanded, whitespace collapsed).

    Accepts 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first,
    names, ranges, steps, lists and the macros in :data:`MACROS` (case-insensitive). Raises
    ``ValueError`` naming the expression when it is invalid or can never match.
    """
    if not isinstance(expr, str):
        raise ValueError(f"cron expression must be a string, got {type(expr).__name__}")
    text = " ".join(expr.split())
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise ValueError(f"invalid cron expression {expr!r}: unknown macro")
        text = MACROS[text.lower()]
    try:
        _template(text)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expr!r}: {exc}") from None
    return text


def from_json(data: Any) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.to_json` output.

    The data comes from an untrusted store, so anything malformed (wrong types, missing or
    unknown keys, bad expression, unknown time zone) raises ``ValueError``.
    """
    if not isinstance(data, dict):
        raise ValueError(f"schedule must be a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind == "every":
        required, optional = {"kind", "interval_ms", "anchor_ms"}, {"until_ms"}
    elif kind == "cron":
        required, optional = {"kind", "expr", "tz"}, {"until_ms"}
    else:
        raise ValueError(f"unknown schedule kind {kind!r}")
    keys = set(data)
    if missing := required - keys:
        raise ValueError(f"{kind} schedule is missing {sorted(missing)}")
    if unknown := keys - required - optional:
        raise ValueError(f"{kind} schedule has unknown keys {sorted(map(str, unknown))}")
    if kind == "every":
        return Every(data["interval_ms"], data["anchor_ms"], data.get("until_ms"))
    return Cron(data["expr"], data["tz"], data.get("until_ms"))


# --- helpers -----------------------------------------------------------------------------


def _check_int(name: str, value: object) -> None:
    # bool is an int subclass, but True as a timestamp is always a bug or forged data.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}")


def _check_until(until_ms: object) -> None:
    if until_ms is not None:
        _check_int("until_ms", until_ms)


def _past(run_ms: int, until_ms: int | None) -> bool:
    return until_ms is not None and run_ms > until_ms


def _resolve_until(first_ms: int, until_ms: int | None, until_delta_ms: int | None) -> int | None:
    if until_ms is not None and until_delta_ms is not None:
        raise ValueError("give until as an absolute time or as a delta, not both")
    if until_delta_ms is not None:
        _check_int("until_delta_ms", until_delta_ms)
        until_ms = first_ms + until_delta_ms
    _check_until(until_ms)
    if until_ms is not None and until_ms < first_ms:
        raise ValueError("until is before the first run")
    return until_ms


def _format_duration(ms: int) -> str:
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    if ms or not parts:
        parts.append(f"{ms}ms")
    return "".join(parts)


def _until_suffix(until_ms: int | None) -> str:
    if until_ms is None:
        return ""
    try:
        stamp = (_EPOCH + timedelta(milliseconds=until_ms)).isoformat(timespec="milliseconds")
    except OverflowError:
        return f" until {until_ms}ms"
    return f" until {stamp}Z"


def _zone_key(tz: ZoneInfo | str) -> str:
    key = tz if isinstance(tz, str) else getattr(tz, "key", None)
    if not isinstance(key, str) or not key:
        raise ValueError(f"time zone {tz!r} has no IANA name; use ZoneInfo('Area/City')")
    _zone(key)
    return key


@lru_cache(maxsize=256)
def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        raise ValueError(f"unknown time zone {key!r}") from None


def _parses(expr: str) -> bool:
    try:
        CronSim(expr, _PROBE_ORIGIN)
    except CronSimError:
        return False
    return True


@lru_cache(maxsize=1024)
def _template(expr: str) -> CronSim:
    """Parsed, validated iterator for ``expr``; callers copy it and set ``dt``.

    Parsing is about half the cost of a lookup, so it is done once per expression. The
    template is naive (no tzinfo), which makes cronsim walk the wall clock without any DST
    handling of its own; :func:`_next_match` maps wall times to instants.
    """
    try:
        template = CronSim(expr, _PROBE_ORIGIN)
    except CronSimError as exc:
        parts = expr.split()
        # cronsim rejects e.g. "0 0 30 2 *" as a bad day-of-month although each field is
        # fine alone; report that as never matching rather than as a syntax error.
        if len(parts) in (5, 6):
            any_month = " ".join([*parts[:-2], "*", parts[-1]])
            first_dom = " ".join([*parts[:-3], "1", *parts[-2:]])
            if _parses(any_month) and _parses(first_dom):
                raise ValueError("never matches (no such day in those months)") from None
        raise ValueError(str(exc) or "parse error") from None
    try:
        next(copy.copy(template))
    except StopIteration:
        raise ValueError("never matches (no run within 50 years)") from None
    return template


def _offset_s(zone: ZoneInfo, wall: datetime, fold: int = 0) -> int:
    offset = wall.replace(tzinfo=zone, fold=fold).utcoffset()
    assert offset is not None  # ZoneInfo always knows the offset
    return offset // _SECOND


def _wall_to_s(zone: ZoneInfo, wall: datetime, fold: int = 0) -> int:
    return (wall - _EPOCH) // _SECOND - _offset_s(zone, wall, fold)


def _s_to_wall(zone: ZoneInfo, seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, zone).replace(tzinfo=None)


def _switch_s(zone: ZoneInfo, lo: int, hi: int) -> int:
    """First second in ``(lo, hi]`` with ``hi``'s UTC offset, given one transition between."""
    target = datetime.fromtimestamp(hi, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi


def _resolve_wall(zone: ZoneInfo, wall: datetime) -> int:
    """Instant (s) when ``wall`` is due: its first occurrence, or the end of a DST gap."""
    seconds = _wall_to_s(zone, wall)  # fold=0 is the first of two repeated instants
    if _s_to_wall(zone, seconds) == wall:
        return seconds
    # Imaginary wall time: fold=1 uses the post-gap offset and lands before the transition,
    # fold=0 the pre-gap offset and lands after it, so the transition lies between them.
    return _switch_s(zone, _wall_to_s(zone, wall, fold=1), seconds)


def _next_match(expr: str, zone: ZoneInfo, after_ms: int) -> int | None:
    """First run of a normalised ``expr`` strictly after ``after_ms`` (None if none found)."""
    after_s = after_ms // 1000  # cron matches whole seconds, so flooring keeps "strictly"
    walk = copy.copy(_template(expr))
    try:
        local = datetime.fromtimestamp(after_s, zone)
        wall = local.replace(tzinfo=None)
        if local.fold:
            # Inside the second pass of a repeated hour every wall time in it already ran
            # on the first pass, so resume the walk where the repeat ends.
            first_pass = _wall_to_s(zone, wall)
            switch = _switch_s(zone, first_pass, after_s)
            wall = _s_to_wall(zone, switch + (after_s - first_pass)) - _SECOND
        walk.dt = wall
        # Wall times ascend and map to non-decreasing instants, so the first one past
        # `after_s` is the answer; gap times all map to the same instant and are deduped.
        # cronsim stops by itself when nothing matches within 50 years.
        for match in walk:
            run_s = _resolve_wall(zone, match)
            if run_s > after_s:
                return run_s * 1000
    except (OverflowError, ValueError):
        # Instants outside datetime's range (year 1..9999) have no next run.
        return None
    return None
