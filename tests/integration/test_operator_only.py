"""Who may write what: every write route of the OpenAPI document, walked with partner keys.

The routes are read from the app's OpenAPI document, so a new route is covered the day it is added:
unless it is named in PARTNER_ROUTES (tests/support/partner_routes.py, with the reason partners may use
it), a partner's admin, agent and integrator keys (and an outlet agent's) must be refused with 403 before
the body is even read. Another operator's admin (and a partner, with real objects and valid bodies) is
walked through every route with path parameters in test_cross_tenant_writes.py.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from domain.organisations import OrganisationKind, Role
from tests.support.factories import Tenant, make_child
from tests.support.partner_routes import PARTNER_ROUTES, WRITE_METHODS, key_id_of


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
