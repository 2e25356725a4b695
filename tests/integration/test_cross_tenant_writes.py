"""Operator data is written by operator admins only: every write route with path parameters, walked with
REAL objects of operator A and VALID bodies, as operator B's admin (404 ``<kind>_not_found``) and as an admin
of a partner under A where the route is not on the partner allow-list (403 ``operator_only``); nothing in the
database may change. Then A's own admin sends the same request, which proves the body valid, so the 404 came
from the ownership check and not from validation.

The routes are read from the OpenAPI document: a route with path parameters and no entry in ``CASES`` fails
``test_every_route_with_path_parameters_has_a_case`` until it gets one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from activities.accounts.organisations import mint_api_key
from domain.ids import new_id
from domain.organisations import Role
from models.base import Base, engine_for, unit_of_work
from models.catalog import PlanVersion
from models.organisations import Organisation
from models.subscriptions import ProvisioningOrder, ScheduledChange
from models.usage import UsageEvent
from tests.support import device_support
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.care_support import make_care, raise_ticket
from tests.support.factories import Tenant, make_child, make_operator, person
from tests.support.partner_routes import PARTNER_ROUTES, WRITE_METHODS, key_id_of
from tests.support.subscription_support import make_shop as make_catalogue
from tests.support.usage_factory import subscription as insert_subscription
from tests.support.webhook_support import webhook_delivery

IBAN = "DE89370400440532013000"
# A's own admin gets this where the route starts or signals a process: the `api` fixture has no Temporal,
# and the 503 comes after the object was found and the request checked (the change is even released).
TEMPORAL_DOWN = (503, "temporal_unavailable")


@dataclass
class World:
    """One real object of operator A per path parameter (several devices: each route needs its own state)."""

    objects: dict[str, str]
    device: dict[str, str]  # route action → device id in the state that action needs
    service_id: str
    warehouse_id: str
    plan_code: str
    product_code: str
    dear_plan: str


@dataclass(frozen=True)
class Case:
    kind: str  # another operator gets 404 `<kind>_not_found`
    body: Callable[[World], Any] | None = None
    own: tuple[int, str | None] = (200, None)  # what A's admin gets with the same request (status, code)
    objects: Callable[[World], dict[str, str]] = field(default=lambda w: {})


def device(action: str) -> Callable[[World], dict[str, str]]:
    return lambda w: {"device_id": w.device[action]}


# Ordered: A's own calls run in this order, so the ones that end an object's life come last.
CASES: dict[tuple[str, str], Case] = {
    ("patch", "/v1/organisations/{organisation_id}"): Case("organisation", lambda w: {"name": "Taken over"}),
    ("post", "/v1/organisations/{organisation_id}/api-keys"): Case(
        "organisation", lambda w: {"name": "intruder", "role": "admin"}, own=(201, None)
    ),
    ("patch", "/v1/accounts/{account_id}"): Case("account", lambda w: {"email": "intruder@example.com"}),
    ("post", "/v1/accounts/{account_id}/payment-methods"): Case(
        "account", lambda w: {"kind": "cash", "default": False}, own=(201, None)
    ),
    ("post", "/v1/accounts/{account_id}/payment-methods/{method_id}/default"): Case("account"),
    ("post", "/v1/accounts/{account_id}/sepa-mandates"): Case(
        "account",
        lambda w: {"signed_on": "2026-01-15", "debtor_name": "Ana Ruiz", "iban": IBAN, "bic": "DEUTDEFF"},
        own=(201, None),
    ),
    ("patch", "/v1/accounts/{account_id}/wallets/{currency}"): Case(
        "account", lambda w: {"low_balance_threshold_minor": 1}
    ),
    ("post", "/v1/accounts/{account_id}/wallets/{currency}/top-ups"): Case(
        "account", lambda w: {"method": "cash", "amount_minor": 500, "receipt": "R-1"}, own=(201, None)
    ),
    ("post", "/v1/catalog/plans/{code}/versions"): Case(
        "plan",
        lambda w: {
            "code": w.plan_code,
            "name": "Hijacked",
            "product_code": w.product_code,
            "effective_from": date(2030, 1, 1).isoformat(),
            "phases": [{"kind": "evergreen", "prices": {"EUR": "0.01"}}],
        },
        own=(201, None),
    ),
    ("post", "/v1/devices/{device_id}/state"): Case(
        "device", lambda w: {"state": "in_repair"}, objects=device("state")
    ),
    ("post", "/v1/devices/{device_id}/assign"): Case(
        "device", lambda w: {"service_id": w.service_id}, objects=device("assign")
    ),
    ("post", "/v1/devices/{device_id}/return"): Case(
        "device", lambda w: {"warehouse_id": w.warehouse_id}, objects=device("return")
    ),
    ("post", "/v1/devices/{device_id}/swap"): Case(
        "device", lambda w: {"reason": "faulty"}, own=TEMPORAL_DOWN, objects=device("swap")
    ),
    ("post", "/v1/payments/{payment_id}/refunds"): Case(
        "payment", lambda w: {"amount_minor": 100, "reason": "goodwill"}, own=(201, None)
    ),
    ("post", "/v1/invoices/{invoice_id}/collect"): Case("invoice", own=TEMPORAL_DOWN),
    ("post", "/v1/provisioning/orders/{order_id}/retry"): Case("provisioning_order", own=TEMPORAL_DOWN),
    ("put", "/v1/usage/subscribers/{alias}"): Case(
        "service", lambda w: {"alias": w.objects["alias"], "service_id": w.service_id}
    ),
    ("post", "/v1/usage/suspense/{event_id}/retry"): Case("usage_event"),
    ("post", "/v1/subscriptions/{subscription_id}/changes"): Case(
        "subscription",
        lambda w: {
            "type": "change_plan",
            "plan": w.dear_plan,
            "timing": "immediate",
            "effective_date": "2026-03-01",
        },
        own=TEMPORAL_DOWN,
    ),
    ("delete", "/v1/subscriptions/{subscription_id}/changes/{change_id}"): Case(
        "subscription", own=TEMPORAL_DOWN
    ),
    ("post", "/v1/subscriptions/{subscription_id}/{action}"): Case(
        "subscription", lambda w: {"reason": "fraud", "effective_date": "2026-03-01"}, own=TEMPORAL_DOWN
    ),
    ("post", "/v1/invoices/{invoice_id}/void"): Case("invoice", lambda w: {"description": "voided"}),
    ("post", "/v1/voucher-lots/{lot_id}/activate"): Case("voucher_lot"),
    ("post", "/v1/voucher-lots/{lot_id}/cancel"): Case("voucher_lot"),
    ("patch", "/v1/webhook-endpoints/{endpoint_id}"): Case("webhook_endpoint", lambda w: {"enabled": False}),
    ("post", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"): Case(
        "webhook_endpoint", own=(202, None)
    ),
    ("delete", "/v1/organisations/{organisation_id}/api-keys/{key_id}"): Case("api_key"),
    # Signed by the gateway, not scoped to an organisation: cash sends no webhooks, for anyone.
    ("post", "/v1/webhooks/{gateway}"): Case(
        "webhook_gateway", objects=lambda w: {"gateway": "cash"}, own=(404, "webhook_gateway_not_found")
    ),
    ("delete", "/v1/webhook-endpoints/{endpoint_id}"): Case("webhook_endpoint", own=(204, None)),
    ("patch", "/v1/partner-connections/{connection_id}"): Case(
        "partner_connection", lambda w: {"revenue_share_percent": "5"}
    ),
    # Signed by the provider, not scoped by an API key: Netflix's charges are pulled, never pushed.
    ("post", "/v1/partners/{provider}/charges"): Case(
        "partner_provider",
        objects=lambda w: {"provider": "netflix"},
        own=(404, "partner_provider_not_found"),
    ),
    # Customer care: the operator's configuration, then a ticket of A's account (the Temporal signal after a
    # change is best effort, so A's own calls succeed without Temporal).
    ("patch", "/v1/business-calendars/{calendar_id}"): Case("business_calendar", lambda w: {"name": "Taken"}),
    ("patch", "/v1/ticket-queues/{queue_id}"): Case("ticket_queue", lambda w: {"name": "Taken"}),
    ("patch", "/v1/ticket-categories/{category_id}"): Case("ticket_category", lambda w: {"name": "Taken"}),
    ("post", "/v1/tickets/{ticket_id}/assignment"): Case("ticket", lambda w: {"assignee": "intruder"}),
    ("post", "/v1/tickets/{ticket_id}/comments"): Case(
        "ticket", lambda w: {"body": "hello", "public": True}, own=(201, None)
    ),
    ("post", "/v1/tickets/{ticket_id}/attachments"): Case(
        "ticket",
        lambda w: {"filename": "note.txt", "content_type": "text/plain", "content_base64": "aGVsbG8="},
        own=(201, None),
    ),
    ("post", "/v1/tickets/{ticket_id}/transitions"): Case("ticket", lambda w: {"status": "open"}),
    ("post", "/v1/tickets/{ticket_id}/cancellation"): Case(
        "ticket", lambda w: {"timing": "immediate"}, own=(409, "not_a_cancel_request")
    ),
    ("post", "/v1/tickets/{ticket_id}/stolen-device"): Case(
        "ticket", lambda w: {}, own=(409, "not_a_stolen_device")
    ),
    ("post", "/v1/tickets/{ticket_id}/invoice-hold"): Case("ticket"),
    ("post", "/v1/tickets/{ticket_id}/dispute-settlement"): Case(
        "ticket", lambda w: {"outcome": "credit", "amount_minor": 100, "description": "Charged twice"}
    ),
    ("put", "/v1/accounts/{account_id}/notification-preferences"): Case(
        "account", lambda w: {"channels": ["email"], "marketing_opt_out": True}
    ),
    ("patch", "/v1/segments/{segment_id}"): Case("segment", lambda w: {"name": "Taken over"}),
    ("post", "/v1/segments/{segment_id}/refresh"): Case("segment", own=TEMPORAL_DOWN),
    ("delete", "/v1/segments/{segment_id}"): Case("segment", own=(204, None)),
    ("post", "/v1/accounts/{account_id}/offers/{offer_id}/accept"): Case(
        "account", lambda w: {"channel": "care"}, own=(201, None)
    ),
    ("patch", "/v1/offers/{offer_id}"): Case("offer", lambda w: {"name": "Taken over"}),
    ("post", "/v1/offers/{offer_id}/{move}"): Case("offer", objects=lambda w: {"move": "pause"}),
    ("patch", "/v1/loyalty-rules/{rule_id}"): Case("loyalty_rule", lambda w: {"active": False}),
    ("post", "/v1/accounts/{account_id}/points/redemptions"): Case(
        "account", lambda w: {"points": 10, "reward": "wallet_credit"}, own=(409, "points_insufficient")
    ),
    ("post", "/v1/accounts/{account_id}/points/reversals"): Case(
        "account",
        lambda w: {"movement_id": "lpm_01M8PS00000000000000000000", "reason": "error"},
        own=(404, "points_movement_not_found"),
    ),
}


def routes_with_path_parameters(app: Any) -> list[tuple[str, str]]:
    """Staff write routes with path parameters. The subscriber's own routes (/v1/me/…) refuse every staff
    key (403 ``subscriber_only``, tests/integration/test_me_api.py) and are walked with another subscriber's
    ids instead."""
    doc = app.openapi()
    return sorted(
        (m, p)
        for p, ops in doc["paths"].items()
        for m in ops
        if m in WRITE_METHODS and "{" in p and not p.startswith("/v1/me/")
    )


def fill(path: str, objects: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        assert match.group(1) in objects, f"no object of A for {{{match.group(1)}}} in {path}"
        return objects[match.group(1)]

    return re.sub(r"\{(\w+)\}", value, path)


async def send(api: httpx.AsyncClient, method: str, path: str, tenant: Tenant, body: Any) -> httpx.Response:
    if body is None:
        return await api.request(method.upper(), path, headers=tenant.post_headers())
    return await api.request(method.upper(), path, headers=tenant.post_headers(), json=body)


def snapshot(database_url: str) -> dict[str, str]:
    """A digest of every table's rows: a refused request must leave the whole database as it was."""
    row = sa.literal_column("t::text")
    digests: dict[str, str] = {}
    with engine_for(database_url).connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = sa.func.string_agg(row, aggregate_order_by(sa.literal_column("','"), row))
            query = sa.select(sa.func.md5(sa.func.coalesce(rows, ""))).select_from(table.alias("t"))
            digests[table.name] = conn.execute(query).scalar_one()
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


async def created(api: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await api.post(path, json=body, headers=tenant.post_headers())
    assert resp.status_code in (200, 201), resp.text
    return dict(resp.json())


async def build_world(api: httpx.AsyncClient, database_url: str, a: Tenant) -> World:
    shop = device_support.make_shop(database_url, tenant=a)
    subscriber = device_support.make_subscriber(database_url, shop)
    state_box, assign_box, return_box, swap_box, spare = device_support.receive(database_url, shop, 5)
    device_support.assign(database_url, shop, return_box, subscriber)
    device_support.assign(database_url, shop, swap_box, subscriber)

    catalogue = await make_catalogue(api, a)
    changing = await insert_subscription(api, a, database_url, [catalogue.cheap], start=date(2026, 1, 1))

    account_id = make_account(database_url, a.organisation_id)
    invoice_id = make_invoice(database_url, account_id, [Line("Fibra", 3000)])
    payer = make_account(database_url, a.organisation_id)
    payment = await created(
        api, a, "/v1/payments", {"account_id": payer, "amount_minor": 2000, "currency": "EUR"}
    )
    method = await created(api, a, f"/v1/accounts/{account_id}/payment-methods", {"kind": "cash"})
    await created(
        api, a, f"/v1/accounts/{account_id}/wallets/EUR/top-ups", {"method": "cash", "amount_minor": 100}
    )
    lot = await created(
        api,
        a,
        "/v1/voucher-lots",
        {"value_minor": 500, "currency": "EUR", "expires_on": "2099-12-31", "count": 1},
    )
    alias = f"+3491{uuid.uuid4().int % 10**7:07d}"
    put = await api.put(
        f"/v1/usage/subscribers/{alias}",
        json={"alias": alias, "service_id": subscriber.service_id},
        headers=a.auth,
    )
    assert put.status_code == 200, put.text

    endpoint = await created(api, a, "/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks"})
    partner_connection = await created(
        api,
        a,
        "/v1/partner-connections",
        {"provider": "netflix", "base_url": "http://127.0.0.1:9", "partner_id": "op", "secret": "s"},
    )
    segment = await created(
        api, a, "/v1/segments", {"code": "fr", "name": "French", "rules": {"field": "language", "in": ["fr"]}}
    )
    offer = await created(
        api,
        a,
        "/v1/offers",
        {"code": "welcome", "name": "Welcome credit", "kind": "wallet_credit", "currency": "EUR",
         "value_minor": 500, "starts_on": "2000-01-01"},
    )  # fmt: skip
    change_id, order_id = new_id("chg"), new_id("prv")
    with unit_of_work(database_url) as session:
        session.add(
            ScheduledChange(
                id=change_id,
                subscription_id=changing.id,
                kind="change_plan",
                effective_on=date(2026, 2, 1),
                data={},
                status="pending",
                process_id=f"plan-change-{change_id}",
            )
        )
        session.add(
            ProvisioningOrder(
                id=order_id,
                subscription_id=subscriber.subscription_id,
                service_id=subscriber.service_id,
                service_kind="video",
                action="activate",
                state="failed",
                attempts=1,
                request={
                    "idempotency_key": order_id,
                    "action": "activate",
                    "service_kind": "video",
                    "account_id": subscriber.account_id,
                    "subscription_id": subscriber.subscription_id,
                    "service_id": subscriber.service_id,
                    "plan_code": shop.plan,
                    "characteristics": {},
                },
                error="platform busy",
                idempotency_key=order_id,
            )
        )
        event = UsageEvent(
            organisation_id=a.organisation_id,
            client_event_id=uuid.uuid4().hex,
            subscriber="+34910000000",
            event_type="voice",
            metric="voice",
            quantity=60,
            started_at=datetime(2026, 6, 1, 12, tzinfo=UTC),
            status="suspense",
            reason="unknown_subscriber",
        )
        session.add(event)
        session.flush()
        event_id = str(event.id)
        org = session.get(Organisation, a.organisation_id)
        assert org is not None
        spare_key, _ = mint_api_key(session, organisation=org, role=Role.ADMIN, name="spare")
        spare_key_id = spare_key.id
        delivery_id = webhook_delivery(session, endpoint["id"], a.organisation_id)
        product_code = session.execute(
            sa.select(PlanVersion.product_code).where(
                PlanVersion.organisation_id == a.organisation_id, PlanVersion.code == catalogue.cheap
            )
        ).scalar_one()

    care = make_care(database_url, tenant=a, action="billing_dispute")
    disputed = make_invoice(database_url, care.account_id, [Line("Fibra", 3000)])
    ticket = raise_ticket(database_url, care, invoice_id=disputed)
    loyalty_rule = await created(
        api,
        a,
        "/v1/loyalty-rules",
        {
            "code": "tenure",
            "name": "A year with us",
            "definition": {
                "criterion": {"kind": "maturity", "months_active": 12},
                "award": {"kind": "points", "points": 100},
            },
        },
    )
    programme = await api.put(
        "/v1/loyalty-programme", json={"currency": "EUR", "point_value_minor": "1"}, headers=a.auth
    )
    assert programme.status_code == 200, programme.text

    objects = {
        "calendar_id": care.calendar_id,
        "queue_id": care.queue_id,
        "category_id": care.category,
        "ticket_id": ticket.id,
        "organisation_id": a.organisation_id,
        "key_id": spare_key_id,
        "account_id": account_id,
        "method_id": method["id"],
        "currency": "EUR",
        "code": catalogue.cheap,
        "payment_id": payment["id"],
        "invoice_id": invoice_id,
        "order_id": order_id,
        "alias": alias,
        "event_id": event_id,
        "subscription_id": changing.id,
        "change_id": change_id,
        "action": "suspend",
        "lot_id": lot["id"],
        "endpoint_id": endpoint["id"],
        "delivery_id": delivery_id,
        "connection_id": partner_connection["id"],
        "segment_id": segment["id"],
        "offer_id": offer["id"],
        "rule_id": loyalty_rule["id"],
    }
    boxes = {"state": state_box, "assign": assign_box, "return": return_box, "swap": swap_box, "spare": spare}
    return World(
        objects,
        boxes,
        subscriber.service_id,
        shop.warehouse_id,
        catalogue.cheap,
        product_code,
        catalogue.dear,
    )


@pytest.fixture
async def world(api: httpx.AsyncClient, database_url: str, operator: Tenant) -> World:
    return await build_world(api, database_url, operator)


def code_of(resp: httpx.Response) -> str | None:
    try:
        return resp.json().get("code")  # type: ignore[no-any-return]
    except ValueError:
        return None


async def test_every_route_with_path_parameters_has_a_case(api: httpx.AsyncClient) -> None:
    routes = set(routes_with_path_parameters(api._transport.app))  # type: ignore[attr-defined]
    missing = sorted(routes - set(CASES))
    assert not missing, (
        "write routes with path parameters that the cross-organisation walk does not cover; add an entry "
        f"to CASES in {__file__} (a real object of operator A and a valid body): {missing}"
    )
    assert not sorted(set(CASES) - routes), "CASES names routes that no longer exist"


async def test_another_operator_and_partners_cannot_write_an_operators_objects(
    api: httpx.AsyncClient, operator: Tenant, world: World, database_url: str
) -> None:
    other = make_operator(database_url, name="Other Operator")
    partner = make_child(database_url, operator.organisation_id)
    key_id_of(database_url, other)  # B's key is a real, working admin key
    wrong: list[str] = []
    for (method, path), case in CASES.items():
        objects = {**world.objects, **case.objects(world)}
        url = fill(path, objects)
        body = case.body(world) if case.body else None
        callers = [(other, 404, f"{case.kind}_not_found", "operator B")]
        if (method, path) not in PARTNER_ROUTES:
            callers.append((partner, 403, "operator_only", "partner admin of A"))
        for tenant, status, code, who in callers:
            before = snapshot(database_url)
            resp = await send(api, method, url, tenant, body)
            touched = changed(before, snapshot(database_url))
            if (resp.status_code, code_of(resp)) != (status, code) or touched:
                wrong.append(
                    f"{method.upper()} {path} as {who}: {resp.status_code} {resp.text[:160]}"
                    + (f"; tables changed: {touched}" if touched else "")
                )
    assert not wrong, "another organisation got through (or was refused for the wrong reason):\n" + "\n".join(
        wrong
    )

    refused: list[str] = []
    for (method, path), case in CASES.items():
        objects = {**world.objects, **case.objects(world)}
        resp = await send(api, method, fill(path, objects), operator, case.body(world) if case.body else None)
        status, code = case.own
        if resp.status_code != status or (code is not None and code_of(resp) != code):
            refused.append(f"{method.upper()} {path}: {resp.status_code} {resp.text[:200]}")
    assert not refused, "A's own admin could not send the walk's requests (bodies not valid?):\n" + "\n".join(
        refused
    )


# The other way in: B's own object (or none) in the path, A's object in the body. (method, path, B's path
# objects, body naming A's objects, B's answer.)
Pick = Callable[[World, World], Any]


def nf(kind: str) -> tuple[int, str | None]:
    return 404, f"{kind}_not_found"


BODY_CASES: list[tuple[str, str, Pick, Pick, tuple[int, str | None]]] = [
    (
        "post",
        "/v1/devices/{device_id}/assign",
        lambda a, b: {"device_id": b.device["assign"]},
        lambda a, b: {"service_id": a.service_id},
        nf("service"),
    ),
    (
        "post",
        "/v1/devices/{device_id}/return",
        lambda a, b: {"device_id": b.device["return"]},
        lambda a, b: {"warehouse_id": a.warehouse_id},
        nf("warehouse"),
    ),
    (
        "post",
        "/v1/devices/{device_id}/state",
        lambda a, b: {"device_id": b.device["state"]},
        lambda a, b: {"state": "in_repair", "warehouse_id": a.warehouse_id},
        nf("warehouse"),
    ),
    (
        "post",
        "/v1/devices/{device_id}/swap",
        lambda a, b: {"device_id": b.device["swap"]},
        lambda a, b: {"reason": "faulty", "warehouse_id": a.warehouse_id},
        nf("warehouse"),
    ),
    (
        "put",
        "/v1/usage/subscribers/{alias}",
        lambda a, b: {"alias": b.objects["alias"]},
        lambda a, b: {"alias": b.objects["alias"], "service_id": a.service_id},
        nf("service"),
    ),
    (
        "delete",
        "/v1/subscriptions/{subscription_id}/changes/{change_id}",
        lambda a, b: {"subscription_id": b.objects["subscription_id"], "change_id": a.objects["change_id"]},
        lambda a, b: None,
        nf("change"),
    ),
    (
        "post",
        "/v1/accounts/{account_id}/payment-methods/{method_id}/default",
        lambda a, b: {"account_id": b.objects["account_id"], "method_id": a.objects["method_id"]},
        lambda a, b: None,
        nf("payment_method"),
    ),
    (
        "post",
        "/v1/credit-notes",
        lambda a, b: {},
        lambda a, b: {"invoice_id": a.objects["invoice_id"], "amount_minor": 100},
        nf("invoice"),
    ),
    (
        "post",
        "/v1/payments",
        lambda a, b: {},
        lambda a, b: {"account_id": a.objects["account_id"], "amount_minor": 100, "currency": "EUR"},
        nf("account"),
    ),
    (
        "post",
        "/v1/payments",
        lambda a, b: {},
        lambda a, b: {
            "account_id": b.objects["account_id"],
            "amount_minor": 100,
            "currency": "EUR",
            "allocation": "chosen",
            "invoice_ids": [a.objects["invoice_id"]],
        },
        # Chosen among the (visible) account's open invoices: the answer for an id that does not exist.
        (422, "invoice_not_payable"),
    ),
    (
        "post",
        "/v1/subscriptions",
        lambda a, b: {},
        lambda a, b: {"account_id": a.objects["account_id"], "items": [{"plan": b.plan_code}]},
        nf("account"),
    ),
    (
        "post",
        "/v1/warehouses",
        lambda a, b: {},
        lambda a, b: {"code": "x", "name": "Intruder", "organisation_id": a.objects["organisation_id"]},
        nf("organisation"),
    ),
    (
        "post",
        "/v1/stock/movements",
        lambda a, b: {},
        lambda a, b: {
            "kind": "transfer",
            "device_ids": [a.device["spare"]],
            "to_warehouse_id": b.warehouse_id,
        },
        nf("device"),
    ),
    (
        "post",
        "/v1/stock/movements",
        lambda a, b: {},
        lambda a, b: {
            "kind": "transfer",
            "device_ids": [b.device["spare"]],
            "to_warehouse_id": a.warehouse_id,
        },
        nf("warehouse"),
    ),
    (
        "post",
        "/v1/accounts",
        lambda a, b: {},
        lambda a, b: person(organisation_id=a.objects["organisation_id"]),
        nf("organisation"),
    ),
    (
        "post",
        "/v1/organisations",
        lambda a, b: {},
        lambda a, b: {"name": "Intruder", "kind": "partner", "parent_id": a.objects["organisation_id"]},
        nf("organisation"),
    ),
]


async def test_another_operator_cannot_name_an_operators_objects_in_a_body(
    api: httpx.AsyncClient, world: World, database_url: str
) -> None:
    other = make_operator(database_url, name="Other Operator")
    theirs = await build_world(api, database_url, other)
    wrong: list[str] = []
    for method, path, objects, body, expected in BODY_CASES:
        before = snapshot(database_url)
        resp = await send(api, method, fill(path, objects(world, theirs)), other, body(world, theirs))
        touched = changed(before, snapshot(database_url))
        if (resp.status_code, code_of(resp)) != expected or touched:
            wrong.append(
                f"{method.upper()} {path} as operator B: {resp.status_code} {resp.text[:200]}"
                + (f"; tables changed: {touched}" if touched else "")
            )
    assert not wrong, "another operator wrote with this operator's objects:\n" + "\n".join(wrong)
