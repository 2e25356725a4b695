"""The migrations build exactly the schema the models describe, on whatever PostgreSQL the tests use."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from models.all import Base
from models.base import engine_for
from models.migrate import current_revision, upgrade


def test_migrations_match_the_models(database_url: str) -> None:
    with engine_for(database_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], "write a migration for these model changes"


def test_upgrading_twice_is_harmless(database_url: str) -> None:
    before = current_revision(database_url)
    upgrade(database_url)
    assert current_revision(database_url) == before == "0009"
