"""Statement, balance and trial balance come from the ledger, exact to the cent."""

from __future__ import annotations

from datetime import date

import httpx

from activities.shared.ledger import post_entry
from domain.ledger import payment_entry
from domain.organisations import Role
from models.base import unit_of_work
from tests.support.billing_factory import MIXED_LINES as LINES
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant, make_child, make_operator


def _pay(
    database_url: str, organisation_id: str, account_id: str, amount: int, currency: str = "EUR"
) -> None:
    with unit_of_work(database_url) as session:
        post_entry(
            session,
            organisation_id=organisation_id,
            customer_id=account_id,
            kind="payment",
            source_id=f"pay_{amount}",
            currency=currency,
            booked_on=date(2026, 4, 20),
            postings=payment_entry(account_id, currency, amount, "card"),
            key=f"test-pay:{account_id}:{amount}",
        )


async def test_statement_has_a_running_balance_per_currency_across_pages(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id = make_account(database_url, operator.organisation_id)
    first = make_invoice(database_url, account_id, LINES)  # 6484
    _pay(database_url, operator.organisation_id, account_id, 6000)
    usd = make_invoice(
        database_url, account_id, [Line("Roaming", 1000, rate="US-none", percent="0")], currency="USD"
    )
    second = make_invoice(database_url, account_id, [Line("Fibra", 3000)])  # 3630
    credit = await api.post(
        "/v1/credit-notes",
        json={"invoice_id": second, "amount_minor": 1000, "tax_rate": "ES-standard"},
        headers=operator.post_headers(),
    )
    assert credit.status_code == 201, credit.text  # -1210

    rows: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await api.get(f"/v1/accounts/{account_id}/statement", params=params, headers=operator.auth)
        ).json()
        assert len(page["data"]) <= 2
        rows += page["data"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [
        (r["kind"], r["source_id"], r["currency"], r["amount_minor"], r["balance_minor"]) for r in rows
    ] == [
        ("invoice", first, "EUR", 6484, 6484),
        ("payment", "pay_6000", "EUR", -6000, 484),
        ("invoice", usd, "USD", 1000, 1000),
        ("invoice", second, "EUR", 3630, 4114),
        ("credit_note", credit.json()["id"], "EUR", -1210, 2904),
    ]
    only_usd = await api.get(
        f"/v1/accounts/{account_id}/statement", params={"currency": "USD"}, headers=operator.auth
    )
    assert [r["balance_minor"] for r in only_usd.json()["data"]] == [1000]

    balance = (await api.get(f"/v1/accounts/{account_id}/balance", headers=operator.auth)).json()
    assert balance == {
        "account_id": account_id,
        "balances": [{"currency": "EUR", "amount_minor": 2904}, {"currency": "USD", "amount_minor": 1000}],
    }


async def test_statement_of_a_new_account_is_empty_and_others_are_hidden(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id = make_account(database_url, operator.organisation_id)
    page = (await api.get(f"/v1/accounts/{account_id}/statement", headers=operator.auth)).json()
    assert page == {"data": [], "next_cursor": None, "has_more": False}
    assert (await api.get(f"/v1/accounts/{account_id}/balance", headers=operator.auth)).json()[
        "balances"
    ] == []
    stranger = make_operator(database_url, name="Other Operator")
    for path in ("statement", "balance"):
        response = await api.get(f"/v1/accounts/{account_id}/{path}", headers=stranger.auth)
        assert (response.status_code, response.json()["code"]) == (404, "account_not_found")
    bad = await api.get(
        f"/v1/accounts/{account_id}/statement", params={"cursor": "abc"}, headers=operator.auth
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


async def test_trial_balance_nets_to_zero_in_every_currency(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    partner = make_child(database_url, operator.organisation_id)
    mine = make_account(database_url, operator.organisation_id)
    theirs = make_account(database_url, partner.organisation_id)
    invoice_id = make_invoice(database_url, mine, LINES)
    make_invoice(database_url, theirs, [Line("Fibra", 3000)])
    make_invoice(database_url, theirs, [Line("Roaming", 1000, rate="US-none", percent="0")], currency="USD")
    _pay(database_url, operator.organisation_id, mine, 484)
    void = await api.post(f"/v1/invoices/{invoice_id}/void", headers=operator.post_headers())
    assert void.status_code == 200

    response = await api.get("/v1/ledger/trial-balance", headers=operator.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totals"] == [{"currency": "EUR", "amount_minor": 0}, {"currency": "USD", "amount_minor": 0}]
    rows = {(r["currency"], r["ledger_account"]): (r["debit_minor"], r["credit_minor"]) for r in body["rows"]}
    assert rows == {
        ("EUR", "cash:card"): (484, 0),
        ("EUR", "receivable"): (6484 + 3630, 6484 + 484),
        ("EUR", "revenue:broadband"): (3000, 3000),
        ("EUR", "revenue:content"): (999, 999),
        ("EUR", "revenue:video"): (1500, 4500),
        ("EUR", "tax:ES-standard"): (945, 945 + 630),
        ("EUR", "tax:ES-super-reduced"): (40, 40),
        ("USD", "receivable"): (1000, 0),
        ("USD", "revenue:video"): (0, 1000),
    }
    # The partner sees its own subtree only; an agent may not read the operator's books.
    partner_view = (await api.get("/v1/ledger/trial-balance", headers=partner.auth)).json()
    assert {(r["currency"], r["ledger_account"]) for r in partner_view["rows"]} == {
        ("EUR", "receivable"),
        ("EUR", "revenue:video"),
        ("EUR", "tax:ES-standard"),
        ("USD", "receivable"),
        ("USD", "revenue:video"),
    }
    agent = make_operator(database_url, role=Role.AGENT)
    forbidden = await api.get("/v1/ledger/trial-balance", headers=agent.auth)
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
