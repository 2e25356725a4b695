"""The migrations build exactly the schema the models describe, on whatever PostgreSQL the tests use."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from models.all import Base
from models.base import engine_for
from models.migrate import alembic_config, current_revision, upgrade
from models.partitions import is_partition


def _not_a_partition(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """The monthly partitions are made at run time, not described by the models."""
    return not (type_ == "table" and reflected and name is not None and is_partition(name))


def test_migrations_match_the_models(database_url: str) -> None:
    with engine_for(database_url).connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _not_a_partition}),
            Base.metadata,
        )
    assert diff == [], "write a migration for these model changes"


def test_upgrading_twice_is_harmless_and_reaches_the_single_head(database_url: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, f"merge the migration branches {heads}"
    before = current_revision(database_url)
    upgrade(database_url)
    assert current_revision(database_url) == before == heads[0]
