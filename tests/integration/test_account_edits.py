"""Editing an account: the currency is fixed once money was counted in it, and a new email address must
be verified again (the old confirmation, and the old link, no longer count)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.accounts.activities import VerificationActivities
from activities.accounts.io import RecordVerificationOutcome
from activities.accounts.organisations import authenticate
from activities.wallets.balances import wallet_for
from api.app import create_app
from domain import process_ids
from domain.verification import make_token
from models.accounts import Account
from models.base import unit_of_work
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.billing_factory import Line, make_invoice
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, person
from tests.support.smtp import SmtpSink
from tests.support.wallet_support import make_prepaid_subscription


async def new_account(api: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    created = await api.post("/v1/accounts", json=person(**fields), headers=tenant.post_headers())
    assert created.status_code == 201, created.text
    return dict(created.json())


def add_wallet(database_url: str, account_id: str) -> None:
    with unit_of_work(database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        wallet_for(session, account, "EUR")


def add_invoice(database_url: str, account_id: str) -> None:
    make_invoice(
        database_url, account_id, [Line("Fibra 600 Mb", 3000, period=(date(2026, 3, 1), date(2026, 4, 1)))]
    )


def add_subscription(database_url: str, account_id: str) -> None:
    with unit_of_work(database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        organisation_id = account.organisation_id
    make_prepaid_subscription(database_url, organisation_id, account_id)


@pytest.mark.parametrize("money", [add_wallet, add_invoice, add_subscription])
async def test_the_currency_is_locked_once_money_is_counted_in_it(
    api: httpx.AsyncClient, operator: Tenant, database_url: str, money: Any
) -> None:
    account = await new_account(api, operator)
    url = f"/v1/accounts/{account['id']}"
    money(database_url, account["id"])
    locked = await api.patch(url, json={"currency": "USD"}, headers=operator.auth)
    assert (locked.status_code, locked.json()["code"]) == (409, "currency_locked"), locked.text
    same = await api.patch(url, json={"currency": "EUR", "phone": "+34911222333"}, headers=operator.auth)
    assert same.status_code == 200, same.text
    after = (await api.get(url, headers=operator.auth)).json()
    assert (after["currency"], after["version"]) == ("EUR", 2)


async def test_the_currency_of_an_account_with_nothing_yet_can_change(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    account = await new_account(api, operator)
    changed = await api.patch(
        f"/v1/accounts/{account['id']}", json={"currency": "USD"}, headers=operator.auth
    )
    assert (changed.status_code, changed.json()["currency"]) == (200, "USD")


async def test_a_new_email_of_an_unverified_account_is_not_verified(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = await new_account(api, operator)
    with unit_of_work(database_url) as session:  # its verification window elapsed unconfirmed
        row = session.get(Account, account["id"])
        assert row is not None
        row.verification_status, row.verified_at = "unverified", None
    edited = await api.patch(
        f"/v1/accounts/{account['id']}", json={"email": "new.address@example.com"}, headers=operator.auth
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["verification_status"], edited.json()["verified_at"]) == ("not_requested", None)


def test_an_outcome_of_a_superseded_verification_changes_nothing(
    settings: Settings, database_url: str, operator: Tenant
) -> None:
    with unit_of_work(database_url) as session:
        principal = authenticate(session, operator.token)
        assert principal is not None
        from activities.accounts.records import create_account

        fields = person(email="x@example.com")
        fields.pop("verify", None)
        account = create_account(session, principal, fields)
        account.verification_status = "pending"
        account.verification_process_id = process_ids.account_verification(account.id, 3)
        account_id = account.id
    recorded = VerificationActivities(settings).record_verification_outcome(
        RecordVerificationOutcome(
            account_id=account_id,
            outcome="unverified",
            decided_at=datetime(2026, 11, 1, tzinfo=UTC),
            process_id=process_ids.account_verification(account_id),
        )
    )
    assert (recorded.changed, recorded.verification_status) == (False, "pending")
    with unit_of_work(database_url) as session:
        row = session.get(Account, account_id)
        assert row is not None
        assert (row.verification_status, row.verification_process_id) == (
            "pending",
            process_ids.account_verification(account_id, 3),
        )


@pytest.fixture
async def stack(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    test_settings = settings.model_copy(update={"task_queue": f"edits-{uuid.uuid4().hex[:8]}"})
    app = create_app(test_settings, temporal_client=dev_env.client)
    async with (
        build_worker(dev_env.client, test_settings),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


def token_in(mail: Any) -> str:
    payload = mail.get_payload(0) if mail.is_multipart() else mail
    found = re.search(r"token=([A-Za-z0-9_-]+)", payload.get_payload(decode=True).decode())
    assert found
    return found.group(1)


async def account_status(
    api: httpx.AsyncClient, tenant: Tenant, account_id: str, status: str
) -> dict[str, Any]:

    async def view() -> dict[str, Any]:
        return dict((await api.get(f"/v1/accounts/{account_id}", headers=tenant.auth)).json())

    return await eventually_async(
        view,
        until=lambda body: body["verification_status"] == status,
        timeout=15,
        what=f"{account_id} {status}",
    )


async def test_a_verified_account_verifies_its_new_email_again(
    stack: httpx.AsyncClient, operator: Tenant, smtp_server: SmtpSink, settings: Settings
) -> None:
    api = stack
    first = f"first.{uuid.uuid4().hex[:8]}@example.com"
    account = await new_account(api, operator, email=first, verify=True)
    old_token = token_in(await smtp_server.wait_for(first))
    confirmed = await api.post("/v1/verifications", json={"account_id": account["id"], "token": old_token})
    assert confirmed.status_code == 202, confirmed.text
    await account_status(api, operator, account["id"], "verified")

    second = f"second.{uuid.uuid4().hex[:8]}@example.com"
    edited = await api.patch(f"/v1/accounts/{account['id']}", json={"email": second}, headers=operator.auth)
    assert edited.status_code == 200, edited.text
    out = edited.json()
    assert (out["verification_status"], out["verified_at"]) == ("pending", None)
    assert out["verification_process_id"] == process_ids.account_verification(account["id"], out["version"])

    new_token = token_in(await smtp_server.wait_for(second))
    assert new_token == make_token(settings.secret_key, account["id"], second)
    # The link sent to the old address does not confirm the new one.
    stale = await api.post("/v1/verifications", json={"account_id": account["id"], "token": old_token})
    assert (stale.status_code, stale.json()["code"]) == (404, "verification_not_found")
    ok = await api.post("/v1/verifications", json={"account_id": account["id"], "token": new_token})
    assert ok.status_code == 202, ok.text
    done = await account_status(api, operator, account["id"], "verified")
    assert done["email"] == second and done["verified_at"]


async def test_asking_to_verify_with_the_new_email_starts_verification(
    stack: httpx.AsyncClient, operator: Tenant, smtp_server: SmtpSink
) -> None:
    api = stack
    account = await new_account(api, operator)
    address = f"asked.{uuid.uuid4().hex[:8]}@example.com"
    edited = await api.patch(
        f"/v1/accounts/{account['id']}", json={"email": address, "verify": True}, headers=operator.auth
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["verification_status"] == "pending"
    await smtp_server.wait_for(address)
