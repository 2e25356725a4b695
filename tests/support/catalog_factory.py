"""Catalogue builders for API tests: post products and plans, return their codes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.factories import Tenant


def code(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def post(api: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await api.post(path, json=body, headers=tenant.post_headers())
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def product(api: httpx.AsyncClient, tenant: Tenant, kind: str = "broadband", **extra: Any) -> str:
    c = code(kind)
    await post(api, tenant, "/v1/catalog/products", {"code": c, "name": c, "kind": kind, **extra})
    return c


def evergreen(prices: dict[str, str]) -> list[dict[str, Any]]:
    return [{"kind": "evergreen", "prices": prices}]


async def plan(
    api: httpx.AsyncClient,
    tenant: Tenant,
    *,
    product_code: str | None = None,
    prices: dict[str, str] | None = None,
    **extra: Any,
) -> str:
    c = code("plan")
    body = {
        "code": c,
        "name": f"Plan {c}",
        "product_code": product_code or await product(api, tenant),
        "effective_from": "2000-01-01",
        **({"phases": evergreen(prices)} if prices else {}),
        **extra,
    }
    await post(api, tenant, "/v1/catalog/plans", body)
    return c
