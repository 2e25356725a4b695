"""Every self-service route (/v1/me/…) walked with another subscriber's ids: each answers 404, exactly as
for an id that does not exist, and changes nothing.

The routes are read from the app's OpenAPI document, so a new /v1/me route with a path parameter is covered
the day it is added: the test fails until its ``others`` says how to make another subscriber's object
for that parameter. Both subscribers are customers of the same operator (the strongest case:
same organisation, same catalogue); an offer belongs to no subscriber,
so another operator's offer stands in for it.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from activities.care.tickets import attach
from api.app import create_app
from models.base import engine_for, unit_of_work
from runtime.settings import Settings
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.care_support import make_care, raise_ticket
from tests.support.factories import make_operator
from tests.support.subscribers import sign_in
from tests.support.subscription_support import Shop, Stack, make_shop, onboard

pytestmark = pytest.mark.calendar

OWN_BY_CONSTRUCTION = {
    # ``currency`` names the caller's own wallet (there is no other subscriber's wallet to reach): a
    # currency the caller holds no wallet in is a 404 (walked), a top-up creates the caller's own wallet.
    ("post", "/v1/me/wallets/{currency}/top-ups"),
}

TABLES = (
    "payments",
    "invoices",
    "credit_notes",
    "tickets",
    "ticket_history",
    "subscriber_sessions",
    "subscriptions",
)


def me_routes(app: Any) -> list[tuple[str, str]]:
    doc = app.openapi()
    return sorted(
        (method, path)
        for path, ops in doc["paths"].items()
        if path.startswith("/v1/me/") and "{" in path
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"} and (method, path) not in OWN_BY_CONSTRUCTION
    )


BODIES: dict[str, dict[str, Any]] = {
    "/change-quotes": {"type": "change_plan", "plan": "PLAN"},
    "/changes": {"type": "change_plan", "plan": "PLAN"},
    "/payments": {"method": "card"},
    "/confirmations": {},
    "/accept": {},
    "/comments": {"body": "Is this mine?"},
    "/attachments": {"filename": "a.txt", "content_type": "text/plain", "content_base64": "eA=="},
}


def body_for(path: str, shop: Shop) -> dict[str, Any] | None:
    for suffix, body in BODIES.items():
        if path.endswith(suffix):
            return {k: (shop.dear if v == "PLAN" else v) for k, v in body.items()}
    return None


def counts(database_url: str) -> dict[str, int]:
    with engine_for(database_url).connect() as conn:
        return {t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in TABLES}  # noqa: S608


@pytest.mark.today("2026-03-11T10:00:00+00:00")
async def test_every_self_service_route_answers_404_for_another_subscribers_ids(
    stack: Stack, database_url: str, settings: Settings
) -> None:
    api = stack.api
    operator = make_operator(database_url)
    shop = await make_shop(api, operator)
    other_sub = await onboard(api, shop, start_date="2026-03-01", bill_day=1)  # shop.account_id is the other
    other = shop.account_id
    me = sign_in(database_url, make_account(database_url, operator.organisation_id))

    invoice = make_invoice(database_url, other, [Line("Fibra", 3000)])
    note = await api.post(
        "/v1/credit-notes",
        json={
            "invoice_id": invoice,
            "reason": "goodwill",
            "description": "Sorry",
            "lines": [{"description": "Fibra", "amount_minor": 500, "tax_rate": "ES-standard"}],
        },
        headers=operator.post_headers(),
    )
    assert note.status_code == 201, note.text
    payment = await api.post(
        "/v1/payments",
        json={"account_id": other, "amount_minor": 1250, "currency": "EUR", "method": "cash"},
        headers=operator.post_headers(),
    )
    assert payment.status_code == 201, payment.text
    care = dataclasses.replace(make_care(database_url, tenant=operator), account_id=other)
    ticket = raise_ticket(database_url, care)
    with unit_of_work(database_url) as session:
        attachment = attach(
            session,
            care.principal,
            ticket.id,
            filename="a.txt",
            content_type="text/plain",
            content=b"x",
            visibility="public",
        )
        attachment_id = attachment.id
    processes = await api.get(f"/v1/processes?subscription={other_sub['id']}", headers=operator.auth)
    assert processes.status_code == 200, processes.text
    [process_id, *_] = [p["id"] for p in processes.json()["data"]]
    elsewhere = make_operator(database_url)
    offer = await api.post(
        "/v1/offers",
        json={
            "code": f"o-{uuid.uuid4().hex[:8]}",
            "name": "Bonus",
            "kind": "wallet_credit",
            "currency": "EUR",
            "value_minor": 1000,
            "starts_on": "2026-03-01",
            "ends_on": "2026-03-31",
        },
        headers=elsewhere.post_headers(),
    )
    assert offer.status_code == 201, offer.text

    others = {
        "subscription_id": other_sub["id"],
        "process_id": process_id,
        "invoice_id": invoice,
        "credit_note_id": note.json()["id"],
        "payment_id": payment.json()["id"],
        "ticket_id": ticket.id,
        "attachment_id": attachment_id,
        "session_id": sign_in(database_url, other).session_id,
        "offer_id": offer.json()["id"],
        "currency": "USD",  # a wallet the caller does not hold
    }
    before = counts(database_url)
    walked = []
    for method, path in me_routes(create_app(settings)):
        names = re.findall(r"{(\w+)}", path)
        missing = [n for n in names if n not in others]
        assert not missing, (
            f"{method.upper()} {path}: say in the test's `others` how to make another subscriber's {missing}"
        )
        url = re.sub(r"{(\w+)}", lambda m: others[m.group(1)], path)
        answer = await api.request(
            method.upper(),
            url,
            json=body_for(path, shop) if method != "get" else None,
            cookies=me.cookies,
            headers={**me.write_headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code == 404, f"{method.upper()} {url}: {answer.status_code} {answer.text[:300]}"
        assert answer.headers["content-type"].startswith("application/problem+json"), url
        assert answer.json()["code"].endswith("_not_found"), (url, answer.json())
        walked.append(path)
    assert counts(database_url) == before  # nothing written by any of them
    assert len(walked) >= 15, walked
    assert (await api.get("/v1/me", cookies=me.cookies)).json()["account_ids"] == [me.account_id]
