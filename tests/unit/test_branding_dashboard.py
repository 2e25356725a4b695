"""The dashboard's next bill date: the end of the monthly period that contains today (or the start)."""

from __future__ import annotations

from datetime import date

import pytest

from portal.dashboard_view import next_bill_date


@pytest.mark.parametrize(
    ("today", "bill_day", "started", "expected"),
    [
        (date(2026, 11, 10), 1, date(2026, 1, 1), date(2026, 12, 1)),
        (date(2026, 12, 1), 1, date(2026, 1, 1), date(2027, 1, 1)),  # billed today: the next one
        (date(2026, 1, 30), 31, date(2025, 12, 31), date(2026, 1, 31)),
        (date(2026, 2, 5), 31, date(2025, 12, 31), date(2026, 2, 28)),  # short month
        (date(2026, 11, 10), 15, date(2027, 3, 15), date(2027, 4, 15)),  # not started yet
    ],
)
def test_next_bill_date(today: date, bill_day: int, started: date, expected: date) -> None:
    assert next_bill_date(today, bill_day, started) == expected
