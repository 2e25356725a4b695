"""Business time over a calendar: working days and hours in a time zone, less holidays.

A :class:`Calendar` says when a team works: per weekday (0 Monday … 6 Sunday) a list of opening
windows in minutes of the local day (``(540, 1020)`` is 09:00-17:00; ``1440`` closes at midnight), and
the local dates that are holidays. SLA targets are counted in business seconds of such a calendar:
:func:`add_business_seconds` finds the instant a budget runs out, :func:`business_seconds_between` how
much of it an interval used. Windows are built from local wall times and converted with zoneinfo, so a
daylight-saving change moves a window's UTC instants, never its local hours, and a night window that spans
the change counts the hours that really passed.

Pure: no clock, no I/O beyond zoneinfo's tz database (read once per zone and cached).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 1440
MAX_DAYS = 3 * 366
"""How far ahead a search looks for working time before the calendar is declared unusable."""


class CalendarError(ValueError):
    """A calendar that cannot be used (unknown zone, overlapping or empty windows); ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


Window = tuple[int, int]


@dataclass(frozen=True)
class Calendar:
    """When a team works: ``timezone`` (IANA), opening ``windows`` per weekday, ``holidays`` (local dates)."""

    timezone: str
    windows: dict[int, tuple[Window, ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        check_calendar(self)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def check_calendar(calendar: Calendar) -> None:
    """Refuse an unknown zone, a window out of the day or upside down, overlapping windows, or no window."""
    try:
        ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError("timezone", f"{calendar.timezone!r} is not a known IANA time zone") from None
    total = 0
    for weekday, windows in calendar.windows.items():
        if weekday not in range(7):
            raise CalendarError("working_hours", f"weekday {weekday} is not 0 (Monday) to 6 (Sunday)")
        previous_end = -1
        for start, end in sorted(windows):
            if not 0 <= start < end <= MINUTES_PER_DAY:
                raise CalendarError(
                    "working_hours", f"window {start}-{end} is not within one day, start first"
                )
            if start < previous_end:
                raise CalendarError("working_hours", f"windows overlap on weekday {weekday}")
            previous_end = end
            total += end - start
    if total == 0:
        raise CalendarError("working_hours", "the calendar has no working hours at all")


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    if minute >= MINUTES_PER_DAY:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)


def windows_from(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The working windows (UTC, start < end) that end after ``start``, clipped to begin no earlier;
    raises CalendarError when none is found within ``MAX_DAYS`` (every day a holiday)."""
    _aware(start)
    zone = calendar.zone
    day = start.astimezone(zone).date() - timedelta(days=1)  # a window of the day before may still run
    found_at = day
    while True:
        if (day - found_at).days > MAX_DAYS:
            raise CalendarError("holidays", "the calendar has no working time within three years")
        if day not in calendar.holidays:
            for open_m, close_m in sorted(calendar.windows.get(day.weekday(), ())):
                begin = _local(day, open_m, zone).astimezone(UTC)
                end = _local(day, close_m, zone).astimezone(UTC)
                if end <= start or end <= begin:
                    continue
                found_at = day
                yield max(begin, start), end
        day += timedelta(days=1)


def add_business_seconds(calendar: Calendar, start: datetime, seconds: int) -> datetime:
    """The instant (UTC) at which ``seconds`` of working time after ``start`` have passed.

    Zero seconds from a closed moment is ``start`` itself (nothing is owed yet)."""
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    if seconds == 0:
        return start.astimezone(UTC)
    left = timedelta(seconds=seconds)
    for begin, end in windows_from(calendar, start):
        if end - begin >= left:
            return begin + left
        left -= end - begin
    raise AssertionError("unreachable: windows_from is endless or raises")  # pragma: no cover


def add_business_minutes(calendar: Calendar, start: datetime, minutes: int) -> datetime:
    """The instant (UTC) at which ``minutes`` of working time after ``start`` have passed."""
    return add_business_seconds(calendar, start, minutes * 60)


def business_seconds_between(calendar: Calendar, start: datetime, end: datetime) -> int:
    """Whole seconds of working time in ``[start, end)``; 0 when ``end`` is not after ``start``."""
    _aware(end)
    if end <= start:
        return 0
    total = timedelta(0)
    for begin, stop in windows_from(calendar, start):
        if begin >= end:
            break
        total += min(stop, end) - begin
    return int(total.total_seconds())


def business_minutes_between(calendar: Calendar, start: datetime, end: datetime) -> int:
    """Whole minutes of working time in ``[start, end)``."""
    return business_seconds_between(calendar, start, end) // 60


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("business time needs timezone-aware instants")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hhmm(text: str) -> int:
    """``"09:30"`` → 570; ``"24:00"`` → 1440 (closing at midnight)."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise CalendarError("working_hours", f"{text!r} is not HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > MINUTES_PER_DAY:
        raise CalendarError("working_hours", f"{text!r} is not a time of day (00:00 to 24:00)")
    return value


def format_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def calendar_from(timezone: str, working_hours: dict[str, list[list[str]]], holidays: list[date]) -> Calendar:
    """A calendar from its stored form: ``{"mon": [["09:00", "17:00"]], …}`` and a list of holidays."""
    windows: dict[int, tuple[Window, ...]] = {}
    for name, spans in working_hours.items():
        if name not in WEEKDAYS:
            raise CalendarError("working_hours", f"{name!r} is not a weekday ({', '.join(WEEKDAYS)})")
        parsed: list[Window] = []
        for span in spans:
            if len(span) != 2:
                raise CalendarError("working_hours", f"{name}: a window is [open, close]")
            parsed.append((parse_hhmm(span[0]), parse_hhmm(span[1])))
        windows[WEEKDAYS.index(name)] = tuple(parsed)
    return Calendar(timezone, windows, frozenset(holidays))
