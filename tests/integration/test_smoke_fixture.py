from __future__ import annotations

import sqlalchemy as sa

from models.base import engine_for


def test_database_is_migrated(database_url: str) -> None:
    with engine_for(database_url).connect() as conn:
        tables = set(
            conn.execute(sa.text("select tablename from pg_tables where schemaname='public'")).scalars()
        )
    assert {"organisations", "accounts", "api_keys", "idempotency_keys", "alembic_version"} <= tables


async def test_dev_env_up(dev_env) -> None:  # type: ignore[no-untyped-def]
    assert await dev_env.client.service_client.check_health()
