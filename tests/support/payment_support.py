"""Test support for payments: settings and an API wired to localstripe, a card on file, ledger reads, and
the SEPA test mandate and creditor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.sepa_files import PAIN_008
from models.base import engine_for
from runtime.payments import build_gateways
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.factories import Tenant
from tests.support.localstripe import API_KEY, GOOD_CARD, WEBHOOK_SECRET, LocalStripe

IBAN = "DE89370400440532013000"  # the debtor's, in the test mandates
CREDITOR = {
    "name": "Multibill Telecom",
    "iban": "ES9121000418450200051332",
    "bic": "CAIXESBBXXX",
    "creditor_id": "ES12ZZZB12345678",
}
NS = {"p": PAIN_008}  # the pain.008 namespace, for XPath on collection files


def mandate_body(**overrides: object) -> dict[str, object]:
    """A SEPA mandate request for ``IBAN``, signed by Ana Ruiz on 2026-01-15."""
    return {
        "signed_on": "2026-01-15",
        "debtor_name": "Ana Ruiz",
        "iban": IBAN,
        "bic": "DEUTDEFF",
        **overrides,
    }


def stripe_settings(settings: Settings, stripe_url: str, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "stripe_api_key": API_KEY,
            "stripe_api_base": stripe_url,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_timeout_seconds": 5.0,
            "temporal_address": "127.0.0.1:1",
            **extra,
        }
    )


@pytest.fixture
def pay_settings(settings: Settings, localstripe: LocalStripe) -> Settings:
    return stripe_settings(settings, localstripe.url)


@pytest.fixture
async def pay_api(pay_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(pay_settings)
    app.state.payment_gateways = build_gateways(pay_settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


@pytest.fixture(name="pay_api")
async def pay_api_with_worker(
    pay_settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """``pay_api`` with a worker behind it (own task queue on the dev server), for the routes that run a
    process and answer with its result (collect now, card refunds)."""
    queue = pay_settings.model_copy(update={"task_queue": f"pay-{uuid.uuid4().hex[:8]}"})
    app = create_app(queue, temporal_client=dev_env.client)
    app.state.payment_gateways = build_gateways(queue)
    async with (
        build_worker(dev_env.client, queue),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


async def add_card(
    api: httpx.AsyncClient, tenant: Tenant, account_id: str, stripe: LocalStripe, number: str = GOOD_CARD
) -> httpx.Response:
    return await api.post(
        f"/v1/accounts/{account_id}/payment-methods",
        headers=tenant.post_headers(),
        json={"kind": "card", "token": stripe.card_token(number)},
    )


def rows(database_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine_for(database_url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]


def postings(database_url: str, kind: str, source_id: str) -> list[tuple[str, int, int]]:
    found = rows(
        database_url,
        "select p.ledger_account, p.debit_minor, p.credit_minor from ledger_postings p"
        " join ledger_entries e on e.id = p.entry_id where e.kind = :k and e.source_id = :s"
        " order by p.ledger_account",
        k=kind,
        s=source_id,
    )
    return [(r["ledger_account"], r["debit_minor"], r["credit_minor"]) for r in found]


def invoice_row(database_url: str, invoice_id: str) -> dict[str, Any]:
    return rows(
        database_url, "select status, paid_minor, total_minor from invoices where id = :i", i=invoice_id
    )[0]
