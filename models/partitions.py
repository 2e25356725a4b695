"""The monthly partitions of the fastest-growing tables, by name.

``usage_events`` (by ``started_at``, months in UTC), ``invoice_lines`` (by ``issue_date``) and
``ledger_postings`` (by ``booked_on``) are PostgreSQL declarative partitioned tables (RANGE, one
partition per month, named ``<table>_pYYYY_MM``) with a ``<table>_default`` partition that takes a row
of any month nobody created yet, so no write ever fails on an unexpected date.

The partitions of a month are made by the database function ``multibill_month_partition(table, month)``
(migration 0022): it creates the month if missing and, when the default partition already holds rows of
that month, moves them into it. Migrations create the months present and the next ones; the daily
``PartitionMaintenance`` workflow keeps ``MULTIBILL_PARTITIONS_AHEAD_MONTHS`` months ahead and, when
``MULTIBILL_USAGE_RETENTION_MONTHS`` is set, drops old raw-usage months (activities/maintenance/).
"""

from __future__ import annotations

import re
from datetime import date

PARTITIONED = {"usage_events": "started_at", "invoice_lines": "issue_date", "ledger_postings": "booked_on"}
"""The partitioned tables and their partition key."""

_MONTHLY = re.compile(r"^(?P<table>[a-z_]+)_p(?P<year>\d{4})_(?P<month>\d{2})$")


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def default_partition(table: str) -> str:
    return f"{table}_default"


def month_of(name: str, table: str) -> date | None:
    """The month a partition of ``table`` holds (its first day), or None for any other name."""
    found = _MONTHLY.match(name)
    if found is None or found["table"] != table:
        return None
    return date(int(found["year"]), int(found["month"]), 1)


def is_partition(name: str) -> bool:
    """Whether a table name is one of the partitions (not in the models: Alembic's comparison skips them)."""
    return any(month_of(name, table) is not None or name == default_partition(table) for table in PARTITIONED)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month``'s (negative: before)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)
