"""A marker per service a test needs, set from the fixtures the test uses, so a part of the suite can be
run or left out by service: ``pytest -m "not radius"``, ``pytest -m stripe``, ``pytest -m "not postgres
and not temporal"`` (the pure tests).

A test is marked when a fixture that starts the service is among its fixtures (directly or through
another fixture). ``smtp`` is the exception: every ``settings`` points at the test SMTP server, so only a
test that asks for ``smtp_server`` itself (it reads what the platform emailed) is marked ``smtp``.
tests/unit holds pure tests only: one there that needs a service is a collection error.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

# marker -> the fixtures that start (or connect to) the service
SERVICE_FIXTURES: dict[str, frozenset[str]] = {
    "postgres": frozenset({"database_url"}),
    "temporal": frozenset({"time_skipping_env", "own_time_skipping_env", "dev_env"}),
    "radius": frozenset({"freeradius"}),
    "stripe": frozenset({"localstripe"}),
    "browser": frozenset({"browser", "browser_context", "page"}),
}
SMTP_FIXTURE = "smtp_server"
UNIT_DIR = Path(__file__).resolve().parent.parent / "unit"


def services_of(item: pytest.Item) -> list[str]:
    """The service markers ``item`` needs, from its fixtures."""
    used = set(getattr(item, "fixturenames", ()))
    found = [marker for marker, fixtures in SERVICE_FIXTURES.items() if used & fixtures]
    function = getattr(item, "function", None)
    if function is not None and SMTP_FIXTURE in inspect.signature(function).parameters:
        found.append("smtp")
    return found


def mark_by_service(items: list[pytest.Item]) -> None:
    """Add the service markers to every collected test; refuse a test in tests/unit that needs a service."""
    misplaced = []
    for item in items:
        services = services_of(item)
        for marker in services:
            item.add_marker(marker)
        if services and item.path.is_relative_to(UNIT_DIR):
            misplaced.append(f"{item.nodeid} needs {', '.join(services)}")
    if misplaced:
        raise pytest.UsageError(
            "tests/unit is for pure tests (no PostgreSQL, Temporal or other service); move these to "
            "tests/integration or tests/workflows:\n  " + "\n  ".join(misplaced)
        )
