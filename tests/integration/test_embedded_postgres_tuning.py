"""The embedded PostgreSQL is sized for its machine: settings kept in its data directory, a restart only when
one needs it and nobody else is connected, and nothing done again once they hold."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from runtime.servers import embedded_server, memory_settings, tune_embedded_postgres
from runtime.settings import normalise_database_url

GiB = 1024**3
SMALL = {
    "shared_buffers": "160MB",
    "wal_buffers": "8MB",
    "work_mem": "6MB",
    "checkpoint_completion_target": "0.8",
}


def test_settings_follow_the_machine_memory() -> None:
    big = memory_settings(24 * GiB)
    assert big["shared_buffers"] == "2048MB"  # an eighth of 24 GiB is 3 GiB: capped at 2 GiB
    assert big["wal_buffers"] == "64MB"
    assert big["effective_cache_size"] == "12288MB"
    small = memory_settings(2 * GiB)
    assert small["shared_buffers"] == "256MB"
    assert small["wal_buffers"] == "16MB"
    assert memory_settings(512 * 1024**2)["shared_buffers"] == "128MB"  # never below PostgreSQL's default


@pytest.fixture
def server() -> Iterator[object]:
    root = Path(tempfile.mkdtemp(prefix="multibill-pg-tune-"))
    handle = embedded_server(root / "data", cleanup_mode="delete", tuned=False)
    yield handle
    handle.cleanup()
    shutil.rmtree(root, ignore_errors=True)


def _show(server: object) -> dict[str, str]:
    engine = sa.create_engine(normalise_database_url(server.get_uri()), poolclass=NullPool)  # type: ignore[attr-defined]
    try:
        with engine.connect() as conn:
            return {name: conn.exec_driver_sql(f"SHOW {name}").scalar_one() for name in SMALL}
    finally:
        engine.dispose()


def test_tuning_restarts_once_and_holds(server: object) -> None:
    before = _show(server)
    assert before["shared_buffers"] == "128MB"
    assert tune_embedded_postgres(server, SMALL) is True  # shared_buffers and wal_buffers need a restart
    assert _show(server) == {
        "shared_buffers": "160MB",
        "wal_buffers": "8MB",
        "work_mem": "6MB",
        "checkpoint_completion_target": "0.8",
    }
    assert tune_embedded_postgres(server, SMALL) is False  # already so: no ALTER, no restart
    auto = (server.pgdata / "postgresql.auto.conf").read_text()  # type: ignore[attr-defined]
    assert "shared_buffers = '160MB'" in auto  # kept for the next start


def test_no_restart_under_another_client(server: object) -> None:
    engine = sa.create_engine(normalise_database_url(server.get_uri()), poolclass=NullPool)  # type: ignore[attr-defined]
    try:
        with engine.connect() as other:
            assert tune_embedded_postgres(server, SMALL) is False
            assert other.exec_driver_sql("SHOW shared_buffers").scalar_one() == "128MB"  # not restarted
    finally:
        engine.dispose()
    auto = (server.pgdata / "postgresql.auto.conf").read_text()  # type: ignore[attr-defined]
    assert "shared_buffers = '160MB'" in auto  # applies at the next start...
    assert tune_embedded_postgres(server, SMALL) is True  # ...or at the next call with nobody else connected
    assert _show(server)["shared_buffers"] == "160MB"
