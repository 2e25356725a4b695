"""A real stack for the portal's browser tests, as `multibill up` runs it: its own fresh database (on
the test session's PostgreSQL server, migrated and seeded with the demo operator by `up` itself), the
Temporal dev server, the worker, the API on a free port, the dev mail sink (mail saved under the stack's
home) and localstripe as the card gateway.

``portal_stack`` (session scope) yields a ``PortalStack``: the base URL, the operator's API key and id,
the database URL (for ``tests.support.subscribers.sign_in``) and the mail folder.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from models.base import engine_for, unit_of_work
from models.organisations import Organisation
from runtime.cli import mint_admin_key
from tests.e2e.test_smoke import RunningStack
from tests.support.eventually import eventually
from tests.support.localstripe import API_KEY, WEBHOOK_SECRET, LocalStripe

START_TIMEOUT = 300.0


@dataclass(frozen=True)
class PortalStack:
    base_url: str
    api_key: str
    operator_id: str
    database_url: str
    mail_dir: Path
    stripe_url: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.auth, timeout=20)


def _fresh_database(server_url: str) -> tuple[str, str]:
    name = f"multibill_e2e_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return name, sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url: str, name: str) -> None:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _wait_started(stack: RunningStack, timeout: float = START_TIMEOUT) -> None:
    """Migrating a fresh database on a busy machine can outlast the smoke test's 90 s: wait longer."""

    def answering() -> bool:
        if stack.process.poll() is not None:
            raise RuntimeError(f"`multibill up` exited early:\n{stack.output}")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{stack.base_url}/healthz", timeout=3).status_code == 200
        return False

    eventually(answering, timeout=timeout, interval=0.5, what="/healthz 200", context=lambda: stack.output)


def _start(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> RunningStack:
    """`multibill up`, started again once if its API did not answer in time (`up` gives it 60 s: a
    machine busy with other suites can need more to import the app)."""
    for attempt in (1, 2):
        stack = RunningStack(tmp_path_factory.mktemp("portal-stack") / "home", env)
        try:
            _wait_started(stack)
            stack.wait_healthy()
            return stack
        except (RuntimeError, AssertionError):
            stack.kill()
            if attempt == 2 or "did not answer" not in stack.output:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def portal_stack(
    database_url: str, localstripe: LocalStripe, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PortalStack]:
    name, url = _fresh_database(database_url)
    env = {
        "DATABASE_URL": url,
        "MULTIBILL_STRIPE_API_KEY": API_KEY,
        "MULTIBILL_STRIPE_API_BASE": localstripe.url,
        "MULTIBILL_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MULTIBILL_STRIPE_PUBLISHABLE_KEY": "pk_test_multibill",
        "MULTIBILL_STRIPE_JS_URL": f"{localstripe.url}/js.stripe.com/v3/",  # localstripe's Stripe.js
    }
    stack = _start(tmp_path_factory, env)
    try:
        with unit_of_work(url) as session:
            operator_id = session.scalars(
                sa.select(Organisation.id).where(Organisation.kind == "operator")
            ).one()
        token = mint_admin_key(url, operator_id)  # `up` shows its own key on the first start only
        yield PortalStack(stack.base_url, token, operator_id, url, stack.home / "mail", localstripe.url)
    finally:
        stack.interrupt() if stack.process.poll() is None else None
        stack.kill()
        engine_for(url).dispose()
        _drop_database(database_url, name)
