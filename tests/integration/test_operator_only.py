"""Who may write what: every write route of the OpenAPI document, walked with partner keys.

The routes are read from the app's OpenAPI document, so a new route is covered the day it is added:
unless it is named in PARTNER_ROUTES below (with the reason partners may use it), a partner's admin,
agent and integrator keys (and an outlet agent's) must be refused with 403 before the body is even
read. Another operator's admin (and a partner, with real objects and valid bodies) is walked through
every route with path parameters in test_cross_tenant_writes.py.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from activities.accounts.organisations import authenticate
from domain.organisations import OrganisationKind, Role
from models.base import unit_of_work
from tests.support.factories import Tenant, make_child

WRITE_METHODS = ("post", "put", "patch", "delete")

# Routes a partner (or reseller, outlet) may call. Everything else is the operator's own business:
# the catalogue, rate decks, device models, rating and re-rating, bill runs and their schedules, the
# dunning ladder, voucher lots (minting money), provisioning tools, SEPA files for the operator's bank.
PARTNER_ROUTES: dict[tuple[str, str], str] = {
    # Public: the credential is a token or a signature, not an API key.
    ("post", "/v1/verifications"): "the emailed token is the credential",
    ("post", "/v1/devices/login"): "a subscriber's device logs in with its service secret",
    ("post", "/v1/devices/logout"): "a subscriber's device logs out",
    ("post", "/v1/webhooks/stripe"): "signed by Stripe",
    # Reads that use POST.
    ("post", "/v1/quotes"): "prices a basket; writes nothing",
    ("post", "/v1/usage/authorize"): "prepaid authorisation; writes nothing",
    # A partner manages its own subtree: its resellers and outlets, its staff's keys.
    ("post", "/v1/organisations"): "adds a reseller or outlet under the caller",
    ("patch", "/v1/organisations/{organisation_id}"): "names in its subtree; operator settings refused",
    ("post", "/v1/organisations/{organisation_id}/api-keys"): "keys for its own staff",
    ("delete", "/v1/organisations/{organisation_id}/api-keys/{key_id}"): "revokes its own staff's keys",
    # A partner sells to and cares for its own customers.
    ("post", "/v1/accounts"): "its own customers",
    ("patch", "/v1/accounts/{account_id}"): "its own customers",
    ("post", "/v1/subscriptions"): "onboards its own customers",
    ("post", "/v1/subscriptions/{subscription_id}/changes"): "its customers' plan changes",
    ("post", "/v1/subscriptions/{subscription_id}/{action}"): "suspend/resume/terminate its customers",
    ("delete", "/v1/subscriptions/{subscription_id}/changes/{change_id}"): "its customers' changes",
    ("post", "/v1/accounts/{account_id}/payment-methods"): "its customers' cards",
    ("post", "/v1/accounts/{account_id}/payment-methods/{method_id}/default"): "its customers' cards",
    ("post", "/v1/accounts/{account_id}/sepa-mandates"): "its customers' mandates",
    ("post", "/v1/payments"): "cash taken at its outlets",
    ("post", "/v1/payments/{payment_id}/refunds"): "refunds of payments in its subtree",
    ("post", "/v1/invoices/{invoice_id}/collect"): "collects its customers' invoices",
    ("post", "/v1/invoices/{invoice_id}/void"): "its customers' invoices (credit note)",
    ("post", "/v1/credit-notes"): "its customers' invoices",
    ("patch", "/v1/accounts/{account_id}/wallets/{currency}"): "its customers' wallet alerts",
    ("post", "/v1/accounts/{account_id}/wallets/{currency}/top-ups"): "tops up its customers' wallets",
    ("post", "/v1/vouchers/redeem"): "redeems a sold voucher for its customer",
    ("put", "/v1/usage/subscribers/{alias}"): "aliases of its customers' services",
    ("post", "/v1/usage"): "usage of its customers' services",
    ("post", "/v1/usage/imports"): "usage of its customers' services",
    ("post", "/v1/usage/radius"): "usage of its customers' services",
    # Stock held at its own outlets (devices and models stay the operator's).
    ("post", "/v1/warehouses"): "a stock room of an organisation in its subtree",
    ("post", "/v1/stock/movements"): "stock of warehouses in its subtree",
    ("post", "/v1/devices"): "receives serials into a warehouse of its subtree",
    ("post", "/v1/devices/{device_id}/state"): "devices in its warehouses",
    ("post", "/v1/devices/{device_id}/assign"): "dispatches devices to its customers",
    ("post", "/v1/devices/{device_id}/return"): "takes devices back from its customers",
    ("post", "/v1/devices/{device_id}/swap"): "swaps its customers' devices",
    ("post", "/v1/devices/credentials"): "service login secrets of its customers",
}


def write_routes(app: Any) -> list[tuple[str, str]]:
    doc = app.openapi()
    return sorted((m, p) for p, ops in doc["paths"].items() for m in ops if m in WRITE_METHODS)


def fill(path: str, objects: dict[str, str]) -> str:
    return re.sub(
        r"\{(\w+)\}", lambda m: objects.get(m.group(1), f"{m.group(1)[:3]}_{uuid.uuid4().hex}"), path
    )


async def call(api: httpx.AsyncClient, method: str, path: str, tenant: Tenant, body: Any) -> httpx.Response:
    headers = tenant.post_headers()
    if method == "delete":
        return await api.request("DELETE", path, headers=headers)
    return await api.request(method.upper(), path, headers=headers, json=body)


def key_id_of(database_url: str, tenant: Tenant) -> str:
    with unit_of_work(database_url) as session:
        principal = authenticate(session, tenant.token)
    assert principal is not None
    return principal.key_id


@pytest.fixture
def partner_keys(database_url: str, operator: Tenant) -> dict[str, Tenant]:
    partner = make_child(database_url, operator.organisation_id)
    keys = {"partner admin": partner}
    for role in (Role.AGENT, Role.INTEGRATOR):
        keys[f"partner {role.value}"] = make_child(database_url, operator.organisation_id, role=role)
    keys["outlet agent"] = make_child(
        database_url, partner.organisation_id, kind=OrganisationKind.OUTLET, role=Role.AGENT
    )
    return keys


async def test_every_write_route_is_classified(api: httpx.AsyncClient) -> None:
    app = api._transport.app  # type: ignore[attr-defined]
    routes = write_routes(app)
    stale = sorted(set(PARTNER_ROUTES) - set(routes))
    assert not stale, f"PARTNER_ROUTES names routes that no longer exist: {stale}"
    assert len(routes) > 40


async def test_partners_are_refused_every_operator_route(
    api: httpx.AsyncClient, operator: Tenant, partner_keys: dict[str, Tenant], database_url: str
) -> None:
    app = api._transport.app  # type: ignore[attr-defined]
    objects = {"organisation_id": operator.organisation_id, "key_id": key_id_of(database_url, operator)}
    allowed: list[str] = []
    for method, path in write_routes(app):
        if (method, path) in PARTNER_ROUTES:
            continue
        for who, tenant in partner_keys.items():
            # An empty body: the refusal must come from the permission, before the body is read.
            resp = await call(api, method, fill(path, objects), tenant, {})
            if resp.status_code != 403:
                allowed.append(f"{method.upper()} {path} as {who}: {resp.status_code} {resp.text[:120]}")
    assert not allowed, "operator routes a partner reached:\n" + "\n".join(allowed)


async def test_refusals_name_the_rule(
    api: httpx.AsyncClient, operator: Tenant, partner_keys: dict[str, Tenant]
) -> None:
    deck = {"deck": {"code": "voice", "precision": 4, "rates": []}, "effective_from": "2026-01-01"}
    resp = await api.post(
        "/v1/usage/rate-decks", json=deck, headers=partner_keys["partner admin"].post_headers()
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "operator_only"
    assert resp.headers["content-type"].startswith("application/problem+json")
