"""Business time over a calendar: worked examples (weekends, holidays, both daylight-saving changes, night
shifts) and properties that must hold for every calendar, instant and budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.business_time import (
    Calendar,
    CalendarError,
    add_business_minutes,
    add_business_seconds,
    business_minutes_between,
    business_seconds_between,
    calendar_from,
)

MADRID = ZoneInfo("Europe/Madrid")
OFFICE = calendar_from(
    "Europe/Madrid",
    {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    [date(2026, 12, 8), date(2026, 12, 25)],
)


def madrid(*args: int) -> datetime:
    return datetime(*args, tzinfo=MADRID)  # type: ignore[misc]


def test_within_a_day() -> None:
    assert add_business_minutes(OFFICE, madrid(2026, 12, 1, 10), 60) == madrid(2026, 12, 1, 11)
    assert business_minutes_between(OFFICE, madrid(2026, 12, 1, 10), madrid(2026, 12, 1, 11)) == 60


def test_friday_afternoon_rolls_over_the_weekend() -> None:
    # Fri 4 Dec 2026 16:00 + 2 h: one hour on Friday, one on Monday 7 Dec.
    assert add_business_minutes(OFFICE, madrid(2026, 12, 4, 16), 120) == madrid(2026, 12, 7, 10)


def test_a_holiday_is_skipped() -> None:
    # Mon 7 Dec 16:00 + 2 h: Tue 8 Dec is a holiday, so Wed 9 Dec 10:00.
    assert add_business_minutes(OFFICE, madrid(2026, 12, 7, 16), 120) == madrid(2026, 12, 9, 10)
    assert business_minutes_between(OFFICE, madrid(2026, 12, 7, 16), madrid(2026, 12, 9, 10)) == 120


def test_starting_outside_hours_starts_at_the_next_opening() -> None:
    assert add_business_minutes(OFFICE, madrid(2026, 12, 5, 12), 30) == madrid(2026, 12, 7, 9, 30)
    assert add_business_minutes(OFFICE, madrid(2026, 12, 1, 20), 0) == madrid(2026, 12, 1, 20)


def test_daylight_saving_keeps_local_hours() -> None:
    # Madrid springs forward on Sun 29 Mar 2026 and falls back on Sun 25 Oct 2026.
    assert add_business_minutes(OFFICE, madrid(2026, 3, 27, 16), 120) == madrid(2026, 3, 30, 10)
    assert madrid(2026, 3, 30, 10).astimezone(UTC).hour == 8  # CEST
    assert add_business_minutes(OFFICE, madrid(2026, 10, 23, 16), 120) == madrid(2026, 10, 26, 10)
    assert madrid(2026, 10, 26, 10).astimezone(UTC).hour == 9  # CET


def test_a_round_the_clock_calendar_counts_real_hours_across_dst() -> None:
    always = calendar_from("Europe/Madrid", {d: [["00:00", "24:00"]] for d in ("sat", "sun")}, [])
    # The night of 24/25 Oct 2026 has 25 hours: Sunday counts 25 h of work.
    sunday = madrid(2026, 10, 25, 0)
    assert business_seconds_between(always, sunday, madrid(2026, 10, 26, 0)) == 25 * 3600
    spring = madrid(2026, 3, 29, 0)
    assert business_seconds_between(always, spring, madrid(2026, 3, 30, 0)) == 23 * 3600


def test_bad_calendars_are_refused() -> None:
    with pytest.raises(CalendarError) as zone:
        calendar_from("Mars/Olympus", {"mon": [["09:00", "17:00"]]}, [])
    assert zone.value.field == "timezone"
    for hours in ({"mon": [["17:00", "09:00"]]}, {"mon": [["09:00", "25:00"]]}, {}, {"xyz": []}):
        with pytest.raises(CalendarError):
            calendar_from("UTC", hours, [])  # type: ignore[arg-type]
    with pytest.raises(CalendarError):
        calendar_from("UTC", {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}, [])


ZONES = [
    "UTC",
    "Europe/Madrid",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
]


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    windows: dict[int, tuple[tuple[int, int], ...]] = {}
    for weekday in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 1440), max_size=4)))
        pairs = tuple((a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b)
        if pairs:
            windows[weekday] = pairs
    if not windows:
        windows[draw(st.integers(0, 6))] = ((540, 1020),)
    holidays = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=20))
    return Calendar(draw(st.sampled_from(ZONES)), windows, holidays)


NAIVE_FROM, NAIVE_TO = datetime(2026, 1, 1), datetime(2027, 12, 31)  # noqa: DTZ001 (hypothesis bounds)
instants = st.datetimes(NAIVE_FROM, NAIVE_TO, timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, st.integers(0, 60 * 24 * 3))
def test_adding_then_measuring_gives_back_the_budget(cal: Calendar, start: datetime, minutes: int) -> None:
    end = add_business_minutes(cal, start, minutes)
    assert end >= start
    assert business_seconds_between(cal, start, end) == minutes * 60


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, st.integers(0, 200_000), st.integers(0, 200_000))
def test_budgets_add_up(cal: Calendar, start: datetime, a: int, b: int) -> None:
    twice = add_business_seconds(cal, add_business_seconds(cal, start, a), b)
    assert twice == add_business_seconds(cal, start, a + b)


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, st.integers(0, 5 * 10**6), st.integers(0, 5 * 10**6))
def test_measured_time_is_additive_and_bounded(cal: Calendar, start: datetime, x: int, y: int) -> None:
    middle, end = start + timedelta(seconds=x), start + timedelta(seconds=x + y)
    whole = business_seconds_between(cal, start, end)
    assert whole == business_seconds_between(cal, start, middle) + business_seconds_between(cal, middle, end)
    assert 0 <= whole <= x + y


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        add_business_minutes(OFFICE, datetime(2026, 12, 1, 10), 10)  # noqa: DTZ001
