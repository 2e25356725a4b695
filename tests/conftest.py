"""The test session: fixture modules of tests/support/ registered as plugins, the fake clock, the service
markers, and the settings code under test runs with.

Every shared fixture and helper lives once in tests/support/: the database (``databases.py``), the Temporal
servers (``temporal_envs.py``), the SMTP server (``smtp.py``), localstripe (``localstripe.py``), the paying
API (``payment_support.py``), ... Tests isolate themselves by creating their own organisation and rows
(see ``tests/support/factories.py``), never by sharing rows.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest
import time_machine

from runtime.settings import Settings
from tests.support import fake_today
from tests.support.service_markers import mark_by_service
from tests.support.smtp import SmtpSink

pytest_plugins = [
    "tests.support.databases",
    "tests.support.temporal_envs",
    "tests.support.smtp",
    "tests.support.localstripe",
    "tests.support.payment_support",
    "tests.support.onboarding_worker",
    "tests.support.subscription_support",
    "tests.support.plugin_support",
    "tests.support.webhook_receiver",
    "tests.support.netflix_simulator",
    "tests.support.mobile_money_simulator",
    "tests.support.mvno_simulator",
    "tests.support.sportstream_simulator",
    "tests.support.mobile_money_api",
    "tests.support.mobile_lines",
    "tests.support.sms_simulator",
    "tests.support.browser",
    "tests.support.portal_stack",
]

_TRAVELLER = pytest.StashKey[time_machine.travel]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fake-today",
        default=None,
        help=f"run as if today were this date or instant (or set ${fake_today.ENV}): "
        "see tests/support/fake_today.py",
    )


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # A SIGTERM (a CI timeout, `kill`) stops the session as Ctrl-C does: the fixtures' finalizers run, so
    # the servers the session started (embedded PostgreSQL, Temporal, the portal stack, mail sinks) stop
    # with it instead of outliving it.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupted)
    value = fake_today.requested(config.getoption("--fake-today"))
    if value:
        config.stash[_TRAVELLER] = fake_today.start(value)


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_TRAVELLER, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    value = fake_today.requested(config.getoption("--fake-today"))
    return f"fake today: {fake_today.parse(value).isoformat()} (this process only)" if value else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_by_service(items)


@pytest.fixture(autouse=True)
def _fixed_today(request: pytest.FixtureRequest) -> Iterator[None]:
    """``@pytest.mark.today("2026-03-15")``: the test runs with this process's clock at that day (12:00 UTC)
    or instant, ticking. Use a past day: the Temporal servers keep the real time, and a change dated after
    their now waits for it."""
    marker = request.node.get_closest_marker("today")
    if marker is None:
        yield
        return
    with time_machine.travel(fake_today.parse(marker.args[0]), tick=True):
        yield


@pytest.fixture
def settings(database_url: str, smtp_server: SmtpSink) -> Settings:
    """Settings for code under test: the test database, the test SMTP server, a test secret."""
    return Settings(
        environment="test",
        database_url=database_url,
        temporal_address=None,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        secret_key="test-secret-" + "x" * 32,
        public_url="http://testserver",
    )
