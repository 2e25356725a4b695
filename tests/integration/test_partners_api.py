"""/v1/partner-connections, /v1/partner-subscriptions and /v1/partner-settlements: the secret sealed and
never shown, edits, memberships by account, a month's settlement with exact amounts, a balanced entry,
CSV and PDF, made once; bad input (unknown provider, no connection, a wrong product spec) is a 4xx."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from domain import partners
from domain.ids import new_id
from models.base import unit_of_work
from models.billing import LedgerEntry, LedgerPosting
from models.partners import PartnerCharge, PartnerConnection, PartnerSubscription
from runtime.settings import Settings
from tests.support.catalog_factory import post
from tests.support.factories import Tenant, person

CONNECTIONS = "/v1/partner-connections"
SETTLEMENTS = "/v1/partner-settlements"


def connection_body(**extra: Any) -> dict[str, Any]:
    return {
        "provider": "netflix",
        "base_url": "http://127.0.0.1:9",
        "partner_id": "op-netflix",
        "secret": "s3cret-value",
        **extra,
    }


async def connect(api: httpx.AsyncClient, tenant: Tenant, **extra: Any) -> dict[str, Any]:
    resp = await api.post(CONNECTIONS, json=connection_body(**extra), headers=tenant.post_headers())
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def test_a_connection_keeps_its_secret_sealed_and_never_shows_it(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings
) -> None:
    made = await connect(api, operator, revenue_share_percent="12.5", time_zone="Europe/Madrid")
    assert made["id"].startswith("pcon_") and "secret" not in made
    assert (made["provider"], made["revenue_share_percent"], made["time_zone"]) == (
        "netflix",
        "12.5000",
        "Europe/Madrid",
    )
    got = await api.get(f"{CONNECTIONS}/{made['id']}", headers=operator.auth)
    listed = await api.get(CONNECTIONS, headers=operator.auth)
    assert got.json() == made
    assert [c["id"] for c in listed.json()["data"]] == [made["id"]]
    assert "s3cret-value" not in got.text + listed.text
    with unit_of_work(settings.database_url or "") as session:
        row = session.get(PartnerConnection, made["id"])
        assert row is not None and "s3cret-value" not in row.secret_sealed
        assert partners.secret_vault(settings.data_key).open(row.secret_sealed, row.id) == "s3cret-value"

    edited = await api.patch(
        f"{CONNECTIONS}/{made['id']}",
        json={"enabled": False, "secret": "rotated", "revenue_share_percent": "10"},
        headers=operator.auth,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["enabled"], edited.json()["revenue_share_percent"]) == (False, "10.0000")
    with unit_of_work(settings.database_url or "") as session:
        row = session.get(PartnerConnection, made["id"])
        assert row is not None
        assert partners.secret_vault(settings.data_key).open(row.secret_sealed, row.id) == "rotated"

    again = await api.post(CONNECTIONS, json=connection_body(), headers=operator.post_headers())
    assert (again.status_code, again.json()["code"]) == (409, "partner_connection_exists")


async def test_bad_connections_are_refused_with_a_code(api: httpx.AsyncClient, operator: Tenant) -> None:
    cases = [
        (connection_body(provider="hbo"), 422, "partner_provider_unknown"),
        (connection_body(time_zone="Mars/Olympus"), 422, "invalid_time_zone"),
        (connection_body(revenue_share_percent="101"), 422, None),
        (connection_body(secret=""), 422, None),
    ]
    for body, status, code in cases:
        resp = await api.post(CONNECTIONS, json=body, headers=operator.post_headers())
        assert resp.status_code == status, (body, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        if code:
            assert resp.json()["code"] == code
    missing = await api.get(f"{CONNECTIONS}/pcon_nothing", headers=operator.auth)
    assert (missing.status_code, missing.json()["code"]) == (404, "partner_connection_not_found")
    empty = await api.patch(f"{CONNECTIONS}/pcon_nothing", json={}, headers=operator.auth)
    assert (empty.status_code, empty.json()["code"]) == (422, "empty_update")


async def test_a_partner_service_product_needs_a_right_spec(api: httpx.AsyncClient, operator: Tenant) -> None:
    good = {
        "code": "netflix-standard",
        "name": "Netflix Standard",
        "kind": "partner_service",
        "partner": {
            "provider": "netflix",
            "partner_plan": "STANDARD",
            "allowance_minor": 1549,
            "currency": "USD",
        },
    }
    made = await post(api, operator, "/v1/catalog/products", good)
    assert made["partner"]["included_in_price"] is False and made["partner"]["channel"] == "BROADBAND"
    bad = [
        ({**good, "code": "p1", "partner": None}, "partner_spec_missing"),
        ({**good, "code": "p2", "kind": "video"}, "partner_spec_not_allowed"),
        ({**good, "code": "p3", "partner": {**good["partner"], "currency": "XXZ"}}, None),
        ({**good, "code": "p4", "partner": {**good["partner"], "allowance_minor": -1}}, None),
        ({**good, "code": "p5", "partner": {**good["partner"], "provider": "Net Flix"}}, None),
    ]
    for body, code in bad:
        resp = await api.post("/v1/catalog/products", json=body, headers=operator.post_headers())
        assert resp.status_code == 422, (body, resp.text)
        if code:
            assert code in resp.text, resp.text


def charge(
    org: str, number: str, amount: int, decided_at: datetime, status: str = "accepted"
) -> PartnerCharge:
    return PartnerCharge(
        id=new_id("pch"),
        organisation_id=org,
        provider="netflix",
        charge_number=number,
        partner_customer_id="acc_x",
        partner_plan="STANDARD",
        amount_minor=amount,
        currency="USD",
        local_amount_minor=amount,
        local_currency="EUR",
        paid_through=date(2026, 3, 31),
        received_at=decided_at,
        status=status,
        decided_at=decided_at,
    )


async def test_a_month_settles_once_with_exact_amounts_a_balanced_entry_csv_and_pdf(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings
) -> None:
    url = settings.database_url or ""
    org = operator.organisation_id
    await connect(api, operator, revenue_share_percent="12.5", time_zone="Europe/Madrid")
    with unit_of_work(url) as session:
        session.add_all(
            [
                charge(org, "NFX1", 1549, datetime(2026, 2, 28, 23, 30, tzinfo=UTC)),  # 1 March in Madrid
                charge(org, "NFX2", 2299, datetime(2026, 3, 15, 12, 0, tzinfo=UTC)),
                charge(org, "NFX3", 799, datetime(2026, 3, 31, 21, 59, tzinfo=UTC)),  # 23:59 in Madrid
                charge(org, "NFX4", 1549, datetime(2026, 3, 31, 22, 30, tzinfo=UTC)),  # 1 April in Madrid
                charge(org, "NFX5", 1549, datetime(2026, 3, 10, tzinfo=UTC), status="declined"),
            ]
        )
    resp = await api.post(
        SETTLEMENTS, json={"provider": "netflix", "month": "2026-03"}, headers=operator.post_headers()
    )
    assert resp.status_code == 201, resp.text
    made = resp.json()
    # 1549 + 2299 + 799 = 4647; 12.5% = 580.875 → 581 for the operator, 4066 payable to Netflix
    assert (made["charge_count"], made["charged_minor"], made["currency"]) == (3, 4647, "USD")
    assert (made["operator_share_minor"], made["partner_payable_minor"]) == (581, 4066)
    assert (made["month"], made["time_zone"]) == ("2026-03", "Europe/Madrid")

    with unit_of_work(url) as session:
        postings = session.execute(
            select(LedgerPosting).where(LedgerPosting.entry_id == made["ledger_entry_id"])
        ).scalars()
        sides = sorted((p.ledger_account, p.debit_minor, p.credit_minor) for p in postings)
        settled = session.execute(
            select(PartnerCharge.charge_number).where(PartnerCharge.settlement_id == made["id"])
        ).scalars()
        assert sorted(settled) == ["NFX1", "NFX2", "NFX3"]
        entries = session.execute(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.organisation_id == org)
        ).scalar_one()
    assert sides == [
        ("partner_cost:netflix", 4647, 0),
        ("partner_payable:netflix", 0, 4066),
        ("revenue:partner_share", 0, 581),
    ]

    rows = list(
        csv.reader(
            io.StringIO((await api.get(f"{SETTLEMENTS}/{made['id']}.csv", headers=operator.auth)).text)
        )
    )
    assert rows[0][:2] == ["charge_number", "partner_customer_id"]
    assert sorted((r[0], r[-1]) for r in rows[1:4]) == [("NFX1", "1549"), ("NFX2", "2299"), ("NFX3", "799")]
    assert [(r[0], r[-1]) for r in rows[4:]] == [
        ("total", "4647"),
        ("operator_share", "581"),
        ("partner_payable", "4066"),
    ]
    pdf = await api.get(f"{SETTLEMENTS}/{made['id']}.pdf", headers=operator.auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    got = await api.get(f"{SETTLEMENTS}/{made['id']}", headers=operator.auth)
    assert got.json() == made

    again = await api.post(
        SETTLEMENTS, json={"provider": "netflix", "month": "2026-03"}, headers=operator.post_headers()
    )
    assert again.status_code == 201 and again.json() == made  # the same statement, nothing moved
    with unit_of_work(url) as session:
        assert (
            session.execute(
                select(func.count()).select_from(LedgerEntry).where(LedgerEntry.organisation_id == org)
            ).scalar_one()
            == entries
        )
    april = await api.post(
        SETTLEMENTS, json={"provider": "netflix", "month": "2026-04"}, headers=operator.post_headers()
    )
    assert (april.json()["charge_count"], april.json()["charged_minor"]) == (1, 1549)


async def test_bad_settlements_are_refused_with_a_code(api: httpx.AsyncClient, operator: Tenant) -> None:
    no_connection = await api.post(
        SETTLEMENTS, json={"provider": "netflix", "month": "2026-03"}, headers=operator.post_headers()
    )
    assert (no_connection.status_code, no_connection.json()["code"]) == (422, "partner_not_connected")
    bad_month = await api.post(
        SETTLEMENTS, json={"provider": "netflix", "month": "2026-13"}, headers=operator.post_headers()
    )
    assert (bad_month.status_code, bad_month.json()["code"]) == (422, "invalid_month")
    missing = await api.get(f"{SETTLEMENTS}/pset_nothing.csv", headers=operator.auth)
    assert (missing.status_code, missing.json()["code"]) == (404, "partner_settlement_not_found")


async def test_memberships_are_listed_by_account_with_their_signup_link(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings
) -> None:
    account = await post(api, operator, "/v1/accounts", person())
    with unit_of_work(settings.database_url or "") as session:
        row = PartnerSubscription(
            id=new_id("psub"),
            organisation_id=operator.organisation_id,
            account_id=account["id"],
            subscription_id="sub_x",
            provider="netflix",
            partner_plan="STANDARD",
            partner_customer_id=account["id"],
            status="pending_signup",
            channel="BROADBAND",
            signup_url="https://signup.netflix.example/partner?token=t",
            allowance_minor=1549,
            currency="USD",
        )
        session.add(row)
        psub_id = row.id
    listed = await api.get(f"/v1/partner-subscriptions?account_id={account['id']}", headers=operator.auth)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["data"]
    assert (item["id"], item["status"], item["signup_url"]) == (
        psub_id,
        "pending_signup",
        "https://signup.netflix.example/partner?token=t",
    )
    one = await api.get(f"/v1/partner-subscriptions/{psub_id}", headers=operator.auth)
    assert one.json() == item
    none = await api.get("/v1/partner-subscriptions?account_id=acc_other", headers=operator.auth)
    assert none.json()["data"] == []


async def test_a_month_in_two_currencies_is_refused_and_nothing_is_settled(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings
) -> None:
    url = settings.database_url or ""
    org = operator.organisation_id
    await connect(api, operator, revenue_share_percent="10")
    euros = charge(org, "NFX7", 1425, datetime(2026, 3, 12, tzinfo=UTC))
    euros.currency = "EUR"
    with unit_of_work(url) as session:
        session.add_all([charge(org, "NFX6", 1549, datetime(2026, 3, 11, tzinfo=UTC)), euros])
    resp = await api.post(
        SETTLEMENTS, json={"provider": "netflix", "month": "2026-03"}, headers=operator.post_headers()
    )
    assert (resp.status_code, resp.json()["code"]) == (409, "partner_settlement_currencies")
    assert "EUR, USD" in resp.json()["detail"]
    with unit_of_work(url) as session:
        stamped = session.execute(
            select(func.count()).where(
                PartnerCharge.organisation_id == org, PartnerCharge.settlement_id.is_not(None)
            )
        ).scalar_one()
        entries = session.execute(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.organisation_id == org)
        ).scalar_one()
    assert (stamped, entries) == (0, 0)
