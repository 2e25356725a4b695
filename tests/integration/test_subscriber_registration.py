"""Self-registration end to end on the Temporal dev server: the account and its login are created, the
AccountVerification process e-mails the link to the SMTP sink, confirming it lets the password sign in;
a second registration of the address gets the same answer and an "already registered" e-mail; a retried
request (same Idempotency-Key) replays; weak passwords are refused with their code."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from models.accounts import Account
from models.base import unit_of_work
from models.identity import SignupRequest
from models.subscribers import SubscriberLogin
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, make_operator
from tests.support.identity_support import api_from_own_address, deliver
from tests.support.smtp import SmtpSink

PASSWORD = "lantern-meadow-93-quartz"


@pytest.fixture
async def stack(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    test_settings = settings.model_copy(update={"task_queue": f"signup-{uuid.uuid4().hex[:8]}"})
    async with (
        build_worker(dev_env.client, test_settings),
        api_from_own_address(test_settings, dev_env.client) as client,
    ):
        yield client


def signup(operator: Tenant, email: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": email,
        "password": PASSWORD,
        "given_name": "Lucía",
        "family_name": "Marín",
        "language": "es",
        "timezone": "Europe/Madrid",
        "organisation_id": operator.organisation_id,
        **extra,
    }


def body_of(mail: Any) -> str:
    part = mail if not mail.is_multipart() else mail.get_payload(0)
    return str(part.get_payload(decode=True).decode())


async def test_register_confirm_then_sign_in(
    stack: httpx.AsyncClient, database_url: str, smtp_server: SmtpSink, settings: Settings
) -> None:
    api = stack
    operator = make_operator(database_url)
    email = f"lucia.{uuid.uuid4().hex[:8]}@example.com"
    key = {"Idempotency-Key": f"signup-{uuid.uuid4().hex}"}
    resp = await api.post("/v1/subscriber-auth/registrations", json=signup(operator, email), headers=key)
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "check_your_email"
    again = await api.post("/v1/subscriber-auth/registrations", json=signup(operator, email), headers=key)
    assert again.status_code == 202 and again.content == resp.content

    with unit_of_work(database_url) as session:
        login = session.scalar(sa.select(SubscriberLogin).where(SubscriberLogin.email == email))
        assert login is not None and login.email_verified_at is None
        assert login.password_hash and login.password_hash.startswith("$argon2id$")
        account = session.get(Account, login.account_id)
        assert account is not None and account.verification_status == "pending"
        assert (account.given_name, account.language, account.currency) == ("Lucía", "es", "EUR")
        assert session.get(SignupRequest, login.id) is not None
        account_id = account.id

    credentials = {"email": email, "password": PASSWORD, "organisation_id": operator.organisation_id}
    early = await api.post("/v1/subscriber-auth/login", json=credentials)
    assert early.status_code == 403 and early.json()["code"] == "email_not_verified"

    mail = await smtp_server.wait_for(email, timeout=20)
    link = re.search(r"/portal/verify/(acc_\w+)\?token=([\w\-]+)", body_of(mail))
    assert link and link.group(1) == account_id
    confirmed = await api.post("/v1/verifications", json={"account_id": account_id, "token": link.group(2)})
    assert confirmed.status_code == 202, confirmed.text

    async def verified() -> str:
        with unit_of_work(database_url) as session:
            found = session.get(Account, account_id)
            return found.verification_status if found else ""

    await eventually_async(verified, until=lambda s: s == "verified", timeout=20, what="verified account")
    signed_in = await api.post("/v1/subscriber-auth/login", json=credentials)
    assert signed_in.status_code == 200, signed_in.text
    with unit_of_work(database_url) as session:
        login = session.scalar(sa.select(SubscriberLogin).where(SubscriberLogin.email == email))
        assert login is not None and login.email_verified_at is not None

    # The address again: the same answer, no second account, an "already registered" e-mail.
    other = {"Idempotency-Key": f"signup-{uuid.uuid4().hex}"}
    twice = await api.post("/v1/subscriber-auth/registrations", json=signup(operator, email), headers=other)
    assert twice.status_code == 202 and twice.content == resp.content
    deliver(settings, smtp_server)
    assert "ya tienes una cuenta" in body_of(smtp_server.to(email)[-1]).lower()  # in her language
    with unit_of_work(database_url) as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(Account).where(Account.email == email))
    assert count == 1


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short-1", "password_too_short"),
        ("x" * 129, "password_too_long"),
        ("Password1234", "password_too_common"),
        ("aaaaaaaaaaaaaaaa", "password_too_common"),
    ],
)
async def test_weak_passwords_are_refused(
    stack: httpx.AsyncClient, database_url: str, password: str, code: str
) -> None:
    operator = make_operator(database_url)
    email = f"weak.{uuid.uuid4().hex[:8]}@example.com"
    resp = await stack.post(
        "/v1/subscriber-auth/registrations",
        json=signup(operator, email, password=password),
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 422 and resp.json()["code"] == code
    with unit_of_work(database_url) as session:
        assert session.scalar(sa.select(Account.id).where(Account.email == email)) is None


async def test_the_email_is_not_a_password(stack: httpx.AsyncClient, database_url: str) -> None:
    operator = make_operator(database_url)
    email = f"sameasemail{uuid.uuid4().hex[:6]}@example.com"
    resp = await stack.post(
        "/v1/subscriber-auth/registrations",
        json=signup(operator, email, password=email),
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 422 and resp.json()["code"] == "password_is_email"


async def test_an_unknown_operator_is_refused(stack: httpx.AsyncClient, operator: Tenant) -> None:
    resp = await stack.post(
        "/v1/subscriber-auth/registrations",
        json={**signup(operator, "x.y@example.com"), "organisation_id": "org_doesnotexist"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 404 and resp.json()["code"] == "operator_unknown"


async def test_an_unknown_plan_is_refused_and_nothing_is_written(
    stack: httpx.AsyncClient, database_url: str
) -> None:
    operator = make_operator(database_url)
    email = f"plan.{uuid.uuid4().hex[:8]}@example.com"
    resp = await stack.post(
        "/v1/subscriber-auth/registrations",
        json=signup(operator, email, plan_code="no-such-plan"),
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 422 and resp.json()["code"] == "plan_not_found"
    with unit_of_work(database_url) as session:
        assert session.scalar(sa.select(Account.id).where(Account.email == email)) is None
