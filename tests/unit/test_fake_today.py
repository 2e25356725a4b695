"""The fake-today option: what a value means, and that the clock travels there and ticks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from activities.subscriptions.onboarding import local_today
from tests.support.fake_today import parse


def test_a_date_is_midday_utc_and_an_instant_keeps_its_offset() -> None:
    assert parse("2028-02-29") == datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert parse("2026-11-30T23:30:00Z") == datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert parse("2026-03-29T01:30:00+01:00") == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="offset"):
        parse("2026-11-30T23:30:00")


def test_the_product_sees_the_fake_day_in_each_time_zone() -> None:
    with time_machine.travel(parse("2026-12-31T23:30:00Z"), tick=True):
        assert datetime.now(UTC).date() == date(2026, 12, 31)
        assert local_today("Europe/Madrid") == date(2027, 1, 1)
        assert local_today("America/New_York") == date(2026, 12, 31)


@pytest.mark.today("2024-03-12T10:00:00+00:00")
def test_the_today_marker_fixes_the_clock_and_lets_it_tick() -> None:
    now = datetime.now(UTC)
    assert timedelta(0) <= now - datetime(2024, 3, 12, 10, tzinfo=UTC) < timedelta(minutes=1)
    assert now.astimezone(ZoneInfo("Europe/Madrid")).date() == date(2024, 3, 12)
