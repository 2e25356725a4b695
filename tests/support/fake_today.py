"""Run the tests as if today were another day: ``MULTIBILL_FAKE_TODAY`` or ``pytest --fake-today``.

The value is a date (``2028-02-29``, taken at 12:00 UTC, the same date in every time zone from UTC-11
to UTC+11) or an ISO 8601 instant with an offset (``2026-11-30T23:30:00+00:00``, when it is already
the next day in Madrid). The clock of this Python process (``datetime.now``, ``date.today``,
``time.time``) travels there for the whole session and keeps ticking.

Only this process travels: the embedded PostgreSQL (``now()``), the Temporal servers (``workflow.now()``),
localstripe and FreeRADIUS keep the real time. Product code takes "today" from Python, so an API call or
an activity sees the fake day; a test must not compare it with another process's clock, and must not
start a workflow that waits for a fake-future date on a real-time server. Tests that pass fixed dates
(start dates, periods, effective dates, ``as_of``) pass on every fake day.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time

import time_machine

ENV = "MULTIBILL_FAKE_TODAY"


def parse(value: str) -> datetime:
    """The instant a ``--fake-today`` value stands for (a bare date is midday UTC)."""
    text = value.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(12), tzinfo=UTC)
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"{ENV}={value!r}: give a date or an instant with an offset (…Z, …+01:00)")
    return instant


def requested(option: str | None) -> str | None:
    return option or os.environ.get(ENV) or None


def start(value: str) -> time_machine.travel:
    traveller = time_machine.travel(parse(value), tick=True)
    traveller.start()
    return traveller
