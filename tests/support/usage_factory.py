"""Usage test builders: plans with usage charges, subscriptions inserted directly, events, rate decks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from domain.ids import new_id
from models.base import unit_of_work
from models.subscriptions import Subscription, SubscriptionService
from tests.support import catalog_factory
from tests.support.factories import Tenant, person

# Events are accepted from 400 days back up to now, so usage tests fix their now: a module that sends
# events at ``recent_weekday`` times is marked ``pytestmark = [..., USAGE_TODAY]``.
USAGE_NOW = datetime(2026, 6, 17, 12, tzinfo=UTC)  # a Wednesday
USAGE_TODAY = pytest.mark.today(USAGE_NOW.isoformat())

PER_SECOND = {"groups": [{"start": 0, "rate": "0.60", "rate_unit": 60, "increment": 1}]}
CGRATES = {
    "connect_fee": "0.40",
    "groups": [
        {"start": 0, "rate": "0.20", "rate_unit": 60, "increment": 60},
        {"start": 60, "rate": "0.10", "rate_unit": 60, "increment": 1},
    ],
}


@dataclass(frozen=True)
class Sub:
    id: str
    services: list[str]


def voice_charge(included: int = 0, call: dict[str, Any] | None = None) -> dict[str, Any]:
    tariff = {"precision": 4, "rounding": "up", **(call or PER_SECOND)}
    return {
        "metric": "voice",
        "unit": "minute",
        "model": "call",
        "included": str(included),
        "prices": {"EUR": {"call": tariff}},
    }


def data_charge(included_mb: int = 0) -> dict[str, Any]:
    tiers = [{"up_to": "1024", "unit_price": "0.50"}, {"up_to": None, "unit_price": "0.10"}]
    return {
        "metric": "data",
        "unit": "MB",
        "model": "graduated",
        "included": str(included_mb),
        "prices": {"EUR": {"tiers": tiers}},
    }


async def usage_plan(api: httpx.AsyncClient, tenant: Tenant, *charges: dict[str, Any]) -> str:
    product = await catalog_factory.product(api, tenant, "telephony")
    return await catalog_factory.plan(
        api, tenant, product_code=product, prices={"EUR": "10.00"}, usage=list(charges)
    )


async def voice_plan_in_arrears(api: httpx.AsyncClient, tenant: Tenant) -> str:
    """A telephony plan of 5.00 a month billed in arrears, its calls rated at ``CGRATES``; its code."""
    phone = await catalog_factory.product(api, tenant, "telephony")
    body = {
        "code": f"voice-{tenant.organisation_id[-6:].lower()}",
        "name": "Voice",
        "product_code": phone,
        "effective_from": "2000-01-01",
        "billing_term": "in_arrears",
        "phases": [{"kind": "evergreen", "prices": {"EUR": "5.00"}}],
        "usage": [voice_charge(call=CGRATES)],
    }
    return str((await catalog_factory.post(api, tenant, "/v1/catalog/plans", body))["code"])


async def voice_subscription(api: httpx.AsyncClient, tenant: Tenant, database_url: str) -> Sub:
    """A subscription inserted directly on a new plan with the default ``voice_charge``."""
    return await subscription(api, tenant, database_url, [await usage_plan(api, tenant, voice_charge())])


async def subscription(
    api: httpx.AsyncClient,
    tenant: Tenant,
    database_url: str,
    plan_codes: list[str],
    *,
    timezone: str = "Europe/Madrid",
    bill_day: int = 1,
    start: date | None = None,
) -> Sub:
    resp = await api.post("/v1/accounts", json=person(timezone=timezone), headers=tenant.post_headers())
    assert resp.status_code == 201, resp.text
    account_id = resp.json()["id"]
    start = start or date(2025, 11, 1)
    with unit_of_work(database_url) as session:
        sub = Subscription(
            id=new_id("sub"),
            organisation_id=tenant.organisation_id,
            account_id=account_id,
            request_id=uuid.uuid4().hex,
            status="active",
            currency="EUR",
            timezone=timezone,
            bill_day=bill_day,
            billing_term="in_advance",
            start_date=start,
        )
        session.add(sub)
        session.flush()
        services = []
        for index, code in enumerate(plan_codes):
            service_id = new_id("svc")
            service = SubscriptionService(
                id=service_id,
                line_id=service_id,
                subscription_id=sub.id,
                plan_code=code,
                plan_version=1,
                product_kind="telephony",
                role="base" if index == 0 else "addon",
                status="active",
                started_on=start,
            )
            session.add(service)
            services.append(service.id)
        return Sub(sub.id, services)


def event(subscriber: str, quantity: int, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "client_event_id": uuid.uuid4().hex,
        "subscriber": subscriber,
        "event_type": "voice",
        "quantity": quantity,
        "started_at": at.isoformat(),
        **extra,
    }


def deck(destinations: list[dict[str, Any]], tariffs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"code": "voice", "currency": "EUR", "tariffs": tariffs, "destinations": destinations, **extra}


async def publish_deck(
    api: httpx.AsyncClient, tenant: Tenant, spec: dict[str, Any], effective_from: datetime
) -> dict[str, Any]:
    resp = await api.post(
        "/v1/usage/rate-decks",
        json={"effective_from": effective_from.isoformat(), "deck": spec},
        headers=tenant.post_headers(),
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def ingest(api: httpx.AsyncClient, tenant: Tenant, events: list[dict[str, Any]]) -> dict[str, Any]:
    resp = await api.post("/v1/usage", json={"events": events}, headers=tenant.post_headers())
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def rate(api: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    resp = await api.post("/v1/usage/rating-runs", json={}, headers=tenant.post_headers())
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def rated(api: httpx.AsyncClient, tenant: Tenant, sub: Sub, period_start: date) -> dict[str, Any]:
    resp = await api.get(
        "/v1/usage/rated",
        params={"subscription_id": sub.id, "period_start": period_start.isoformat()},
        headers=tenant.auth,
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def month_of(at: datetime) -> date:
    """The first day of ``at``'s month in Madrid (the subscriptions' default timezone)."""
    local = at.astimezone(ZoneInfo("Europe/Madrid"))
    return date(local.year, local.month, 1)


def recent_weekday(weekday: int, hour: int) -> datetime:
    """A UTC time on ``weekday`` (0 = Monday) at ``hour``, at least two days before ``USAGE_NOW``."""
    day = USAGE_NOW.replace(hour=hour) - timedelta(days=2)
    while day.weekday() != weekday:
        day -= timedelta(days=1)
    return day
