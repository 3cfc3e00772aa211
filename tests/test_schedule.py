"""Tests for mel.schedule: fixed instants and explicit zones only, no sleeping, no clock."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim

from mel.schedule import (
    MACROS,
    Cron,
    Every,
    Schedule,
    cron,
    every,
    from_json,
    validate_cron,
)

UTC_ZONE = ZoneInfo("UTC")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def ms(text: str) -> int:
    """Epoch milliseconds of an ISO timestamp that carries its own offset."""
    stamp = datetime.fromisoformat(text)
    assert stamp.tzinfo is not None
    return (stamp - EPOCH) // timedelta(milliseconds=1)


def local(value: int, zone: ZoneInfo) -> str:
    """ISO text of an instant as seen in ``zone`` (offset included, so folds are visible)."""
    return (EPOCH + timedelta(milliseconds=value)).astimezone(zone).isoformat()


def chain(schedule: Schedule, first: int, count: int) -> list[int]:
    """First run plus following runs, each computed as if it ran exactly on time."""
    runs = [first]
    while len(runs) < count:
        nxt = schedule.next_run(runs[-1], runs[-1])
        assert nxt is not None
        runs.append(nxt)
    return runs


def cron_walls(expr: str, zone: ZoneInfo, start: str, count: int) -> list[str]:
    schedule, first = cron(expr, tz=zone, now_ms=ms(start))
    return [local(run, zone) for run in chain(schedule, first, count)]


# --- every -------------------------------------------------------------------------------

T0 = ms("2026-01-01T00:00:00+00:00")


def test_every_first_run_defaults_to_now_plus_interval() -> None:
    schedule, first = every(10 * SECOND, now_ms=T0)
    assert first == T0 + 10 * SECOND
    assert schedule == Every(interval_ms=10 * SECOND, anchor_ms=first)


def test_every_first_run_at_start_even_if_past() -> None:
    schedule, first = every(10 * SECOND, now_ms=T0, start_ms=T0 - 5 * SECOND)
    assert first == T0 - 5 * SECOND
    assert schedule.anchor_ms == first


@pytest.mark.parametrize("latency", [0, 1, 4_999, 9_999])
def test_every_stays_on_grid_despite_latency(latency: int) -> None:
    schedule, first = every(10 * SECOND, now_ms=T0, start_ms=T0)
    runs = [first]
    for _ in range(5):
        nxt = schedule.next_run(runs[-1], runs[-1] + latency)
        assert nxt is not None
        runs.append(nxt)
    assert runs == [T0 + k * 10 * SECOND for k in range(6)]


def test_every_collapses_missed_runs() -> None:
    schedule, _ = every(10 * SECOND, now_ms=T0, start_ms=T0)
    assert schedule.next_run(T0, T0 + 35 * SECOND) == T0 + 40 * SECOND
    # A now exactly on a grid point is already due, so the next run is the point after.
    assert schedule.next_run(T0, T0 + 40 * SECOND) == T0 + 50 * SECOND
    assert schedule.next_run(T0 + 10 * SECOND, T0) == T0 + 20 * SECOND


def test_every_never_runs_before_its_anchor() -> None:
    schedule = Every(interval_ms=10 * SECOND, anchor_ms=T0)
    assert schedule.next_run(T0 - 95 * SECOND, T0 - 95 * SECOND) == T0
    assert schedule.next_run(T0 - 1, T0 - 1) == T0


@pytest.mark.parametrize("interval", [0, -1, -10 * SECOND])
def test_every_rejects_non_positive_interval(interval: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        every(interval, now_ms=T0)
    with pytest.raises(ValueError, match="positive"):
        Every(interval_ms=interval, anchor_ms=T0)


def test_every_until_absolute_is_inclusive() -> None:
    schedule, first = every(10 * SECOND, now_ms=T0, start_ms=T0, until_ms=T0 + 30 * SECOND)
    assert chain(schedule, first, 4) == [T0 + k * 10 * SECOND for k in range(4)]
    assert schedule.next_run(T0 + 30 * SECOND, T0 + 30 * SECOND) is None
    # Collapsing past the end also ends the task.
    assert schedule.next_run(T0, T0 + 31 * SECOND) is None


def test_every_until_off_grid_ends_at_last_point_before() -> None:
    schedule, first = every(10 * SECOND, now_ms=T0, start_ms=T0, until_ms=T0 + 25 * SECOND)
    assert schedule.next_run(T0 + 10 * SECOND, T0 + 10 * SECOND) == T0 + 20 * SECOND
    assert schedule.next_run(T0 + 20 * SECOND, T0 + 20 * SECOND) is None


def test_every_until_delta_measured_from_first_run() -> None:
    schedule, first = every(10 * SECOND, now_ms=T0, until_delta_ms=20 * SECOND)
    assert first == T0 + 10 * SECOND
    assert schedule.until_ms == first + 20 * SECOND
    assert chain(schedule, first, 3)[-1] == first + 20 * SECOND
    assert schedule.next_run(first + 20 * SECOND, first + 20 * SECOND) is None


def test_every_until_delta_zero_runs_once() -> None:
    schedule, first = every(SECOND, now_ms=T0, until_delta_ms=0)
    assert schedule.next_run(first, first) is None


def test_every_until_errors() -> None:
    with pytest.raises(ValueError, match="before the first run"):
        every(SECOND, now_ms=T0, until_ms=T0)
    with pytest.raises(ValueError, match="before the first run"):
        every(SECOND, now_ms=T0, start_ms=T0, until_delta_ms=-1)
    with pytest.raises(ValueError, match="not both"):
        every(SECOND, now_ms=T0, until_ms=T0 + DAY, until_delta_ms=DAY)
    with pytest.raises(ValueError, match="before the first run"):
        Every(interval_ms=SECOND, anchor_ms=T0, until_ms=T0 - 1)


@pytest.mark.parametrize(
    ("interval", "text"),
    [
        (10 * SECOND, "every 10s"),
        (90 * SECOND, "every 1m30s"),
        (DAY + HOUR, "every 1d1h"),
        (250, "every 250ms"),
        (1_500, "every 1s500ms"),
    ],
)
def test_every_describe(interval: int, text: str) -> None:
    assert Every(interval_ms=interval, anchor_ms=T0).describe() == text


def test_describe_mentions_until() -> None:
    schedule = Every(interval_ms=SECOND, anchor_ms=T0, until_ms=T0 + DAY)
    assert schedule.describe() == "every 1s until 2026-01-02T00:00:00.000Z"


# --- cron: first run, collapse, until ----------------------------------------------------


def test_cron_first_run_is_strictly_after_now() -> None:
    _, first = cron("*/5 * * * *", tz=UTC_ZONE, now_ms=ms("2026-01-01T10:02:00+00:00"))
    assert first == ms("2026-01-01T10:05:00+00:00")
    _, first = cron("*/5 * * * *", tz=UTC_ZONE, now_ms=ms("2026-01-01T10:05:00+00:00"))
    assert first == ms("2026-01-01T10:10:00+00:00")
    _, first = cron("*/5 * * * *", tz=UTC_ZONE, now_ms=ms("2026-01-01T10:05:00+00:00") - 1)
    assert first == ms("2026-01-01T10:05:00+00:00")


def test_cron_first_run_after_start() -> None:
    _, first = cron("0 9 * * *", tz=UTC_ZONE, now_ms=T0, start_ms=ms("2026-02-10T09:00:00+00:00"))
    assert first == ms("2026-02-11T09:00:00+00:00")


def test_cron_collapses_missed_runs() -> None:
    schedule, first = cron("*/5 * * * *", tz=UTC_ZONE, now_ms=ms("2026-01-01T09:59:00+00:00"))
    assert first == ms("2026-01-01T10:00:00+00:00")
    assert schedule.next_run(first, ms("2026-01-01T10:17:30+00:00")) == ms(
        "2026-01-01T10:20:00+00:00"
    )
    assert schedule.next_run(first, ms("2026-01-01T10:20:00+00:00")) == ms(
        "2026-01-01T10:25:00+00:00"
    )
    # Days of downtime still give just one run, the next match after now.
    assert schedule.next_run(first, ms("2026-01-04T00:00:01+00:00")) == ms(
        "2026-01-04T00:05:00+00:00"
    )


def test_cron_until_absolute_is_inclusive() -> None:
    until = ms("2026-01-03T09:00:00+00:00")
    schedule, first = cron("0 9 * * *", tz=UTC_ZONE, now_ms=T0, until_ms=until)
    assert chain(schedule, first, 3)[-1] == until
    assert schedule.next_run(until, until) is None
    assert schedule.next_run(first, until + 1) is None


def test_cron_until_delta_measured_from_first_run() -> None:
    schedule, first = cron("0 9 * * *", tz=UTC_ZONE, now_ms=T0, until_delta_ms=DAY)
    assert first == ms("2026-01-01T09:00:00+00:00")
    assert schedule.until_ms == first + DAY
    assert schedule.next_run(first, first) == first + DAY
    assert schedule.next_run(first + DAY, first + DAY) is None


def test_cron_until_errors() -> None:
    with pytest.raises(ValueError, match="before the first run"):
        cron("0 9 * * *", tz=UTC_ZONE, now_ms=T0, until_ms=ms("2026-01-01T08:59:59+00:00"))
    with pytest.raises(ValueError, match="before the first run"):
        cron("0 9 * * *", tz=UTC_ZONE, now_ms=T0, until_delta_ms=-1)
    with pytest.raises(ValueError, match="not both"):
        cron("0 9 * * *", tz=UTC_ZONE, now_ms=T0, until_ms=T0 + DAY, until_delta_ms=DAY)


# --- cron: syntax ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("macro", "start", "expected"),
    [
        ("@yearly", "2026-03-01T00:00:00+00:00", ["2027-01-01T00:00:00+00:00"]),
        ("@annually", "2026-03-01T00:00:00+00:00", ["2027-01-01T00:00:00+00:00"]),
        (
            "@monthly",
            "2026-03-05T00:00:00+00:00",
            ["2026-04-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00"],
        ),
        (
            "@weekly",
            "2026-04-01T00:00:00+00:00",
            ["2026-04-05T00:00:00+00:00", "2026-04-12T00:00:00+00:00"],
        ),
        (
            "@daily",
            "2026-04-01T12:00:00+00:00",
            ["2026-04-02T00:00:00+00:00", "2026-04-03T00:00:00+00:00"],
        ),
        ("@midnight", "2026-04-01T12:00:00+00:00", ["2026-04-02T00:00:00+00:00"]),
        (
            "@hourly",
            "2026-04-01T12:30:00+00:00",
            ["2026-04-01T13:00:00+00:00", "2026-04-01T14:00:00+00:00"],
        ),
    ],
)
def test_macros(macro: str, start: str, expected: list[str]) -> None:
    assert validate_cron(macro) == MACROS[macro]
    assert cron_walls(macro, UTC_ZONE, start, len(expected)) == expected


def test_macros_are_case_insensitive_and_trimmed() -> None:
    assert validate_cron("  @DAILY\t") == "0 0 * * *"
    assert validate_cron("@Hourly") == "0 * * * *"
    assert Cron(expr=" @weekly ", tz="UTC") == Cron(expr="0 0 * * 0", tz="UTC")


def test_validate_cron_collapses_whitespace() -> None:
    assert validate_cron("  0   9 *\t* mon ") == "0 9 * * mon"


def test_names_ranges_lists_and_steps() -> None:
    start = "2026-04-01T00:00:00+00:00"  # a Wednesday
    assert cron_walls("0 9 * * mon-fri", UTC_ZONE, start, 3) == [
        "2026-04-01T09:00:00+00:00",
        "2026-04-02T09:00:00+00:00",
        "2026-04-03T09:00:00+00:00",
    ]
    assert cron_walls("0 9 * * MON-FRI", UTC_ZONE, "2026-04-03T12:00:00+00:00", 1) == [
        "2026-04-06T09:00:00+00:00"
    ]
    assert cron_walls("0 0 1 jan,jul *", UTC_ZONE, start, 2) == [
        "2026-07-01T00:00:00+00:00",
        "2027-01-01T00:00:00+00:00",
    ]
    assert cron_walls("0 9-17/4 * * *", UTC_ZONE, start, 4) == [
        "2026-04-01T09:00:00+00:00",
        "2026-04-01T13:00:00+00:00",
        "2026-04-01T17:00:00+00:00",
        "2026-04-02T09:00:00+00:00",
    ]
    assert cron_walls("15,45 * * * *", UTC_ZONE, start, 3) == [
        "2026-04-01T00:15:00+00:00",
        "2026-04-01T00:45:00+00:00",
        "2026-04-01T01:15:00+00:00",
    ]
    assert cron_walls("*/20 * * * *", UTC_ZONE, start, 3) == [
        "2026-04-01T00:20:00+00:00",
        "2026-04-01T00:40:00+00:00",
        "2026-04-01T01:00:00+00:00",
    ]


def test_six_fields_are_seconds_first() -> None:
    start = "2026-04-01T00:00:00+00:00"
    assert cron_walls("*/15 * * * * *", UTC_ZONE, start, 3) == [
        "2026-04-01T00:00:15+00:00",
        "2026-04-01T00:00:30+00:00",
        "2026-04-01T00:00:45+00:00",
    ]
    assert cron_walls("30 0 12 * * *", UTC_ZONE, start, 2) == [
        "2026-04-01T12:00:30+00:00",
        "2026-04-02T12:00:30+00:00",
    ]
    # Millisecond precision: a run is due at a whole second, strictly after now.
    _, first = cron("* * * * * *", tz=UTC_ZONE, now_ms=T0 + 999)
    assert first == T0 + SECOND


def test_day_of_month_or_day_of_week() -> None:
    # Both restricted: the 13th *or* any Friday (Vixie cron). 2026-04-13 is a Monday.
    assert cron_walls("0 0 13 * 5", UTC_ZONE, "2026-04-01T00:00:00+00:00", 6) == [
        "2026-04-03T00:00:00+00:00",
        "2026-04-10T00:00:00+00:00",
        "2026-04-13T00:00:00+00:00",
        "2026-04-17T00:00:00+00:00",
        "2026-04-24T00:00:00+00:00",
        "2026-05-01T00:00:00+00:00",
    ]
    # Only one restricted: just that one.
    assert cron_walls("0 0 13 * *", UTC_ZONE, "2026-04-01T00:00:00+00:00", 2) == [
        "2026-04-13T00:00:00+00:00",
        "2026-05-13T00:00:00+00:00",
    ]


def test_star_step_counts_as_unrestricted_like_vixie() -> None:
    # cronsim follows Vixie cron: a field starting with "*" (even "*/10") makes the day
    # match an AND. Pinned here so a library change is noticed.
    assert cron_walls("0 0 */10 * 5", UTC_ZONE, "2026-04-01T00:00:00+00:00", 2) == [
        "2026-05-01T00:00:00+00:00",
        "2026-07-31T00:00:00+00:00",
    ]


def test_day_of_week_seven_is_sunday() -> None:
    start = "2026-04-01T00:00:00+00:00"
    sundays = ["2026-04-05T00:00:00+00:00", "2026-04-12T00:00:00+00:00"]
    assert cron_walls("0 0 * * 7", UTC_ZONE, start, 2) == sundays
    assert cron_walls("0 0 * * 0", UTC_ZONE, start, 2) == sundays
    assert cron_walls("0 0 * * sun", UTC_ZONE, start, 2) == sundays
    assert cron_walls("0 0 * * 6-7", UTC_ZONE, start, 2) == [
        "2026-04-04T00:00:00+00:00",
        "2026-04-05T00:00:00+00:00",
    ]


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "   ",
        "* * * *",
        "* * * * * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * 32 * *",
        "* * * 13 *",
        "* * * * 13 *",
        "* * * * 8",
        "61 * * * * *",
        "*/0 * * * *",
        "5-1 * * * *",
        "garbage",
        "a b c d e",
        "* * * foo *",
        "1,,2 * * * *",
        "-1 * * * *",
        "@reboot",
        "@every 5m",
        "@",
        "? * * * *",
    ],
)
def test_invalid_expressions(expr: str) -> None:
    with pytest.raises(ValueError, match="invalid cron expression") as info:
        validate_cron(expr)
    assert repr(expr) in str(info.value)
    with pytest.raises(ValueError):
        cron(expr, tz=UTC_ZONE, now_ms=T0)


@pytest.mark.parametrize(
    "expr", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *", "0 0 */10 2 mon#5"]
)
def test_never_matching_expressions_fail_fast(expr: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError, match="never matches"):
        cron(expr, tz=LONDON, now_ms=T0)
    assert time.perf_counter() - started < 1.0


def test_rare_but_real_expression_is_accepted() -> None:
    # 29 February, only in leap years.
    assert cron_walls("0 0 29 2 *", UTC_ZONE, "2026-01-01T00:00:00+00:00", 2) == [
        "2028-02-29T00:00:00+00:00",
        "2032-02-29T00:00:00+00:00",
    ]


def test_time_zone_arguments() -> None:
    schedule, _ = cron("0 * * * *", tz=ZoneInfo("Africa/Accra"), now_ms=T0)
    assert schedule.tz == "Africa/Accra"
    assert cron("0 * * * *", tz="Asia/Tokyo", now_ms=T0)[0].tz == "Asia/Tokyo"
    with pytest.raises(ValueError, match="unknown time zone"):
        cron("0 * * * *", tz="Mars/Olympus_Mons", now_ms=T0)
    with resources.files("tzdata").joinpath("zoneinfo", "Europe", "London").open("rb") as fh:
        keyless = ZoneInfo.from_file(fh)  # a zone read from a file has no portable name
    with pytest.raises(ValueError, match="IANA"):
        cron("0 * * * *", tz=keyless, now_ms=T0)


def test_cron_describe() -> None:
    schedule, _ = cron("0 */2 * * *", tz=ZoneInfo("Africa/Accra"), now_ms=T0)
    assert schedule.describe() == "cron 0 */2 * * * (Africa/Accra)"


def test_agrees_with_plain_cronsim_in_utc() -> None:
    # Guards the cached-parse fast path against cronsim internals changing.
    start = datetime(2026, 2, 27, 23, 59, 58, tzinfo=UTC)
    for expr in ["*/7 * * * *", "0 0 L * *", "0 12 * * 1#2", "*/13 */7 * * * *", "@monthly"]:
        reference = CronSim(validate_cron(expr), start)
        expected = [(next(reference) - EPOCH) // timedelta(milliseconds=1) for _ in range(20)]
        schedule, first = cron(expr, tz=UTC_ZONE, now_ms=ms(start.isoformat()))
        assert chain(schedule, first, 20) == expected, expr


def test_next_run_is_fast() -> None:
    schedule, first = cron("*/5 * * * *", tz=LONDON, now_ms=T0)
    started = time.perf_counter()
    for step in range(1000):
        schedule.next_run(first, first + step * 7 * MINUTE)
    # The target is well under a millisecond each; allow slack for slow CI machines.
    assert time.perf_counter() - started < 1.0


# --- cron: daylight saving time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "expr", "start", "expected"),
    [
        (
            LONDON,
            "30 1 * * *",
            "2026-03-28T12:00:00+00:00",
            ["2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"],
        ),
        (
            NEW_YORK,
            "30 2 * * *",
            "2026-03-07T12:00:00-05:00",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        (
            LORD_HOWE,
            "15 2 * * *",
            "2026-10-03T12:00:00+10:30",
            ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"],
        ),
        # Several times inside one gap still give a single run.
        (
            NEW_YORK,
            "0,20,40 2 * * *",
            "2026-03-07T12:00:00-05:00",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00", "2026-03-09T02:20:00-04:00"],
        ),
        (
            LONDON,
            "0 */20 1 * * *",
            "2026-03-28T12:00:00+00:00",
            ["2026-03-29T02:00:00+01:00", "2026-03-30T01:00:00+01:00"],
        ),
    ],
)
def test_spring_forward_gap_runs_at_first_instant_after(
    zone: ZoneInfo, expr: str, start: str, expected: list[str]
) -> None:
    assert cron_walls(expr, zone, start, len(expected)) == expected


@pytest.mark.parametrize(
    ("zone", "expr", "start", "expected"),
    [
        (
            LONDON,
            "*/30 * * * *",
            "2026-03-29T00:00:00+00:00",
            ["2026-03-29T00:30:00+00:00", "2026-03-29T02:00:00+01:00", "2026-03-29T02:30:00+01:00"],
        ),
        (
            NEW_YORK,
            "*/30 * * * *",
            "2026-03-08T01:00:00-05:00",
            ["2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"],
        ),
        (
            LORD_HOWE,
            "*/15 * * * *",
            "2026-10-04T01:30:00+10:30",
            ["2026-10-04T01:45:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00"],
        ),
    ],
)
def test_spring_forward_wildcards_keep_their_real_time_cadence(
    zone: ZoneInfo, expr: str, start: str, expected: list[str]
) -> None:
    assert cron_walls(expr, zone, start, len(expected)) == expected
    schedule, first = cron(expr, tz=zone, now_ms=ms(start))
    runs = chain(schedule, first, 12)
    step = runs[1] - runs[0]
    assert all(b - a == step for a, b in zip(runs, runs[1:], strict=False))


@pytest.mark.parametrize(
    ("zone", "expr", "start", "expected"),
    [
        (
            LONDON,
            "30 1 * * *",
            "2026-10-24T12:00:00+00:00",
            ["2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00"],
        ),
        (
            NEW_YORK,
            "30 1 * * *",
            "2026-10-31T12:00:00-04:00",
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        ),
        (
            LORD_HOWE,
            "45 1 * * *",
            "2026-04-04T12:00:00+11:00",
            ["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"],
        ),
        (
            LONDON,
            "0-59/20 1 * * *",
            "2026-10-24T12:00:00+00:00",
            [
                "2026-10-25T01:00:00+01:00",
                "2026-10-25T01:20:00+01:00",
                "2026-10-25T01:40:00+01:00",
                "2026-10-26T01:00:00+00:00",
            ],
        ),
        (
            LONDON,
            "*/30 * * * *",
            "2026-10-25T00:15:00+01:00",
            [
                "2026-10-25T00:30:00+01:00",
                "2026-10-25T01:00:00+01:00",
                "2026-10-25T01:30:00+01:00",
                "2026-10-25T02:00:00+00:00",
                "2026-10-25T02:30:00+00:00",
            ],
        ),
        (
            NEW_YORK,
            "@hourly",
            "2026-11-01T00:30:00-04:00",
            ["2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00"],
        ),
    ],
)
def test_fall_back_overlap_runs_once_at_first_occurrence(
    zone: ZoneInfo, expr: str, start: str, expected: list[str]
) -> None:
    assert cron_walls(expr, zone, start, len(expected)) == expected


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        (LONDON, "2026-10-24T23:00:00+00:00"),
        (NEW_YORK, "2026-11-01T04:00:00+00:00"),
        (LORD_HOWE, "2026-04-04T13:00:00+00:00"),
    ],
)
@pytest.mark.parametrize("expr", ["*/30 * * * *", "*/10 * * * * *", "* * * * *", "*/7 * * * *"])
def test_fall_back_never_repeats_a_wall_clock_time(zone: ZoneInfo, start: str, expr: str) -> None:
    schedule, first = cron(expr, tz=zone, now_ms=ms(start))
    runs = [first]
    while runs[-1] < ms(start) + 4 * HOUR:
        nxt = schedule.next_run(runs[-1], runs[-1])
        assert nxt is not None
        runs.append(nxt)
    walls = [
        (EPOCH + timedelta(milliseconds=run)).astimezone(zone).replace(tzinfo=None) for run in runs
    ]
    assert walls == sorted(set(walls))


def test_now_inside_repeated_hour_skips_times_that_already_ran() -> None:
    schedule, _ = cron("*/10 * * * *", tz=LONDON, now_ms=T0)
    occurrence = ms("2026-10-25T01:50:00+01:00")
    assert schedule.next_run(occurrence, ms("2026-10-25T01:05:00+00:00")) == ms(
        "2026-10-25T02:00:00+00:00"
    )
    seconds, _ = cron("*/10 * * * * *", tz=NEW_YORK, now_ms=T0)
    assert seconds.next_run(T0, ms("2026-11-01T01:59:55-05:00")) == ms("2026-11-01T02:00:00-05:00")
    assert seconds.next_run(T0, ms("2026-11-01T01:00:00-05:00")) == ms("2026-11-01T02:00:00-05:00")


def brute_force_runs(
    expr: str, zone: ZoneInfo, start_ms: int, end_ms: int, step_s: int
) -> list[int]:
    """Runs in ``[start_ms, end_ms)`` found by walking real instants ``step_s`` apart.

    A run is due at the first instant whose wall clock reaches a matching wall time that has
    not been reached before: that is the first occurrence of a repeated time and the first
    instant after a gap. Matching itself uses cronsim on naive (DST-free) wall times.
    """
    expr = validate_cron(expr)
    runs: list[int] = []
    high = datetime.fromtimestamp(start_ms // 1000 - step_s, zone).replace(tzinfo=None)
    pending = next(CronSim(expr, high))
    for second in range(start_ms // 1000, end_ms // 1000, step_s):
        wall = datetime.fromtimestamp(second, zone).replace(tzinfo=None)
        if wall > high:
            if pending <= wall:
                runs.append(second * 1000)
                pending = next(CronSim(expr, wall))
            high = wall
    return runs


TRANSITIONS = [
    (LONDON, "2026-03-29T01:00:00+00:00"),
    (LONDON, "2026-10-25T01:00:00+00:00"),
    (NEW_YORK, "2026-03-08T07:00:00+00:00"),
    (NEW_YORK, "2026-11-01T06:00:00+00:00"),
    (LORD_HOWE, "2026-04-04T15:00:00+00:00"),
    (LORD_HOWE, "2026-10-03T15:30:00+00:00"),
]


@pytest.mark.parametrize(("zone", "transition"), TRANSITIONS)
@pytest.mark.parametrize(
    ("expr", "step_s"),
    [
        ("*/30 * * * *", 60),
        ("*/7 * * * *", 60),
        ("30 1 * * *", 60),
        ("15,45 2 * * *", 60),
        ("0-59/20 1,2 * * *", 60),
        ("@hourly", 60),
        ("* 2 * * *", 60),
        ("10 */2 * * *", 60),
        ("*/10 * * * * *", 1),
        ("30 */20 1,2 * * *", 1),
    ],
)
def test_matches_brute_force_around_transitions(
    zone: ZoneInfo, transition: str, expr: str, step_s: int
) -> None:
    start, end = ms(transition) - 2 * HOUR, ms(transition) + 2 * HOUR
    schedule, run = cron(expr, tz=zone, now_ms=start - 1)
    runs: list[int] = []
    while run < end:
        runs.append(run)
        nxt = schedule.next_run(run, run)
        assert nxt is not None
        run = nxt
    assert runs == brute_force_runs(expr, zone, start, end, step_s)


# --- JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        Every(interval_ms=10 * SECOND, anchor_ms=T0),
        Every(interval_ms=10 * SECOND, anchor_ms=T0, until_ms=T0 + DAY),
        Cron(expr="*/5 * * * *", tz="Europe/London"),
        Cron(expr="@daily", tz="Australia/Lord_Howe", until_ms=T0),
    ],
)
def test_json_round_trip(schedule: Schedule) -> None:
    data = schedule.to_json()
    restored = from_json(json.loads(json.dumps(data)))
    assert restored == schedule
    assert restored.next_run(T0, T0) == schedule.next_run(T0, T0)


def test_to_json_is_compact() -> None:
    assert Every(interval_ms=SECOND, anchor_ms=T0).to_json() == {
        "kind": "every",
        "interval_ms": SECOND,
        "anchor_ms": T0,
    }
    assert Cron(expr="@hourly", tz="UTC", until_ms=5).to_json() == {
        "kind": "cron",
        "expr": "0 * * * *",
        "tz": "UTC",
        "until_ms": 5,
    }


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "every",
        42,
        {},
        {"kind": "nope"},
        {"kind": ["every"]},
        {"kind": "every"},
        {"kind": "every", "interval_ms": 1000},
        {"kind": "every", "interval_ms": "1000", "anchor_ms": 0},
        {"kind": "every", "interval_ms": 1000.0, "anchor_ms": 0},
        {"kind": "every", "interval_ms": True, "anchor_ms": 0},
        {"kind": "every", "interval_ms": 0, "anchor_ms": 0},
        {"kind": "every", "interval_ms": 1000, "anchor_ms": None},
        {"kind": "every", "interval_ms": 1000, "anchor_ms": 10, "until_ms": 5},
        {"kind": "every", "interval_ms": 1000, "anchor_ms": 0, "until_ms": "soon"},
        {"kind": "every", "interval_ms": 1000, "anchor_ms": 0, "extra": 1},
        {"kind": "every", "interval_ms": 1000, "anchor_ms": 0, 7: 1},
        {"kind": "cron", "expr": "* * * * *"},
        {"kind": "cron", "expr": "not cron", "tz": "UTC"},
        {"kind": "cron", "expr": 5, "tz": "UTC"},
        {"kind": "cron", "expr": "0 0 30 2 *", "tz": "UTC"},
        {"kind": "cron", "expr": "* * * * *", "tz": "Mars/Olympus_Mons"},
        {"kind": "cron", "expr": "* * * * *", "tz": ""},
        {"kind": "cron", "expr": "* * * * *", "tz": "America"},
        {"kind": "cron", "expr": "* * * * *", "tz": "../../etc/passwd"},
        {"kind": "cron", "expr": "* * * * *", "tz": "/etc/localtime"},
        {"kind": "cron", "expr": "* * * * *", "tz": None},
        {"kind": "cron", "expr": "* * * * *", "tz": "UTC", "until_ms": 1.5},
    ],
)
def test_from_json_rejects_garbage(data: Any) -> None:
    with pytest.raises(ValueError):
        from_json(data)
