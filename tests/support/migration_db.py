"""A fresh database next to the session's, for tests that migrate from an older revision.

Never downgrade the session's shared database: other tests' rows would have to survive the round trip.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from models.base import engine_for
from models.migrate import upgrade


@contextmanager
def database_at(database_url: str, revision: str) -> Iterator[str]:
    """A new database on the same server, migrated to ``revision``; dropped afterwards."""
    server = sa.make_url(database_url)
    name = f"multibill_mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, revision)
        yield url
    finally:
        engine_for(url).dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
