"""eWallets: top-ups by cash, card and bad input through the API; prepaid period debits, the
low-balance notice over SMTP, the unfunded-prepaid check; every movement's ledger entry."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.wallets.activities import WalletActivities, WalletTopUpActivities
from activities.wallets.balances import wallet_for
from activities.wallets.io import PrepaidDebit
from activities.wallets.prepaid import unfunded_prepaid
from activities.wallets.top_ups import credit_top_up
from api.app import create_app
from integrations.notify.smtp import SmtpNotifier
from integrations.payments.base import GatewayRegistry
from models.accounts import Account
from models.base import unit_of_work
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.billing_factory import make_account
from tests.support.factories import Tenant
from tests.support.smtp import SmtpSink
from tests.support.subscription_support import worker_activities
from tests.support.wallet_support import FakeCardGateway, entries_for, make_prepaid_subscription, postings_of


@pytest.fixture
async def card_api(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    """The API and a worker (own task queue) whose card gateway is ``FakeCardGateway``."""
    queue = settings.model_copy(update={"task_queue": f"wallets-{uuid.uuid4().hex[:8]}"})
    app = create_app(queue, temporal_client=dev_env.client)
    registry = GatewayRegistry()
    registry.register(FakeCardGateway())
    app.state.payment_gateways = registry
    card = WalletTopUpActivities(queue, registry).all()
    async with (
        build_worker(dev_env.client, queue, activities=worker_activities(queue, replace=tuple(card))),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


def wallet_url(account_id: str, currency: str = "EUR") -> str:
    return f"/v1/accounts/{account_id}/wallets/{currency}"


async def test_cash_and_card_top_ups_history_and_ledger(
    card_api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    acc = make_account(database_url, operator.organisation_id)
    cash = await card_api.post(
        f"{wallet_url(acc)}/top-ups",
        json={"method": "cash", "amount_minor": 2500, "receipt": "R-1"},
        headers=operator.post_headers("cash-1"),
    )
    assert cash.status_code == 201, cash.text
    assert cash.json()["wallet"]["balance_minor"] == 2500
    replay = await card_api.post(
        f"{wallet_url(acc)}/top-ups",
        json={"method": "cash", "amount_minor": 2500, "receipt": "R-1"},
        headers=operator.post_headers("cash-1"),
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    card = await card_api.post(
        f"{wallet_url(acc)}/top-ups",
        json={
            "method": "card",
            "amount_minor": 1234,
            "gateway": "fakecard",
            "payment_method_token": "tok_ok",
        },
        headers=operator.post_headers(),
    )
    assert card.status_code == 201, card.text
    assert card.json()["wallet"]["balance_minor"] == 3734
    assert card.json()["transaction"]["method"] == "fakecard"

    listed = await card_api.get(f"/v1/accounts/{acc}/wallets", headers=operator.auth)
    assert [(w["currency"], w["balance_minor"]) for w in listed.json()["data"]] == [("EUR", 3734)]
    history = await card_api.get(f"{wallet_url(acc)}/transactions?limit=1", headers=operator.auth)
    page = history.json()
    assert [(t["kind"], t["amount_minor"], t["balance_after_minor"]) for t in page["data"]] == [
        ("top_up", 1234, 3734)
    ]
    rest = await card_api.get(
        f"{wallet_url(acc)}/transactions?cursor={page['next_cursor']}", headers=operator.auth
    )
    assert [(t["amount_minor"], t["balance_after_minor"], t["method"]) for t in rest.json()["data"]] == [
        (2500, 2500, "cash")
    ]

    entries = entries_for(database_url, acc)
    assert [e.kind for e in entries] == ["wallet", "wallet"]
    assert postings_of(database_url, entries[0].id) == [
        ("cash:cash", None, 2500, 0),
        ("wallet", acc, 0, 2500),
    ]
    assert postings_of(database_url, entries[1].id) == [
        ("cash:fakecard", None, 1234, 0),
        ("wallet", acc, 0, 1234),
    ]


async def test_bad_top_ups_are_refused_and_move_nothing(
    card_api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    acc = make_account(database_url, operator.organisation_id)
    cases = [
        (wallet_url(acc, "USD"), {"method": "cash", "amount_minor": 100}, 422, "currency_mismatch"),
        (
            wallet_url(acc),
            {"method": "cash", "amount_minor": 100, "currency": "USD"},
            422,
            "currency_mismatch",
        ),
        (wallet_url(acc, "XXZ"), {"method": "cash", "amount_minor": 100}, 422, "currency_unknown"),
        (
            wallet_url(acc),
            {
                "method": "card",
                "amount_minor": 100,
                "gateway": "fakecard",
                "payment_method_token": "tok_decline",
            },
            402,
            "top_up_declined",
        ),
        (
            wallet_url(acc),
            {"method": "card", "amount_minor": 100, "gateway": "nope", "payment_method_token": "t"},
            422,
            "gateway_unknown",
        ),
        (wallet_url(acc), {"method": "cash"}, 422, "field_required"),
        (wallet_url(acc), {"method": "cash", "amount_minor": 0}, 422, "validation_error"),
    ]
    for url, body, status, code in cases:
        resp = await card_api.post(f"{url}/top-ups", json=body, headers=operator.post_headers())
        assert (resp.status_code, resp.json()["code"]) == (status, code), resp.text
    listed = await card_api.get(f"/v1/accounts/{acc}/wallets", headers=operator.auth)
    assert listed.json()["data"] == []
    assert entries_for(database_url, acc) == []


async def test_prepaid_debits_once_per_period_notify_low_balance_and_flag_unfunded(
    settings: Settings, operator: Tenant, database_url: str, smtp_server: SmtpSink
) -> None:
    acc = make_account(database_url, operator.organisation_id)
    sub = make_prepaid_subscription(database_url, operator.organisation_id, acc, price="10.00")
    with unit_of_work(database_url) as session:
        account = session.get(Account, acc)
        assert account is not None
        credit_top_up(
            session,
            account,
            "EUR",
            2500,
            method="cash",
            reference="R-9",
            key=f"t:{acc}",
            booked_on=date(2026, 3, 1),
        )
        wallet_for(session, account, "EUR").low_balance_threshold_minor = 1600
    notifier = SmtpNotifier(host=smtp_server.host, port=smtp_server.port, sender="billing@multibill.local")
    activities = WalletActivities(settings, notifier)

    march = activities.debit_prepaid_period(PrepaidDebit(subscription_id=sub, on=date(2026, 3, 10)))
    assert (march.status, march.amount_minor, march.balance_minor, march.low_balance_notice) == (
        "debited",
        1000,
        1500,
        True,
    )
    assert (march.period_start, march.period_end) == (date(2026, 3, 1), date(2026, 4, 1))
    email = await smtp_server.wait_for(account.email)
    assert "wallet balance is low" in email["Subject"]
    again = activities.debit_prepaid_period(PrepaidDebit(subscription_id=sub, on=date(2026, 3, 31)))
    assert (again.status, again.transaction_id, again.balance_minor) == (
        "already_debited",
        march.transaction_id,
        1500,
    )
    april = activities.debit_prepaid_period(PrepaidDebit(subscription_id=sub, on=date(2026, 4, 1)))
    assert (april.status, april.balance_minor, april.low_balance_notice) == ("debited", 500, False)
    assert len(smtp_server.to(account.email)) == 1

    with unit_of_work(database_url) as session:
        path = f"/{operator.organisation_id}/"
        found = [u for u in unfunded_prepaid(session, path, date(2026, 4, 15)) if u.subscription_id == sub]
    assert [(u.next_period_start, u.price_minor, u.balance_minor) for u in found] == [
        (date(2026, 5, 1), 1000, 500)
    ]
    may = activities.debit_prepaid_period(PrepaidDebit(subscription_id=sub, on=date(2026, 5, 1)))
    assert (may.status, may.balance_minor) == ("insufficient_funds", 500)

    debit_entry = entries_for(database_url, acc)[1]
    assert postings_of(database_url, debit_entry.id) == [
        ("wallet", acc, 1000, 0),
        ("revenue:broadband", None, 0, 1000),
    ]
    assert len(entries_for(database_url, acc)) == 3
