"""Device login for OTT apps: a service secret (stored hashed), per-plan device limits and policies."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from activities.accounts.organisations import hash_secret
from models.base import unit_of_work
from models.devices import DeviceLogin, ServiceCredential
from models.subscriptions import SubscriptionService
from tests.support.device_support import Subscriber, make_shop, make_subscriber


async def issue(api: httpx.AsyncClient, database_url: str, **shop_rules: Any) -> tuple[Subscriber, str]:
    shop = make_shop(database_url, **shop_rules)
    subscriber = make_subscriber(database_url, shop)
    resp = await api.post(
        "/v1/devices/credentials",
        json={"service_id": subscriber.service_id},
        headers=shop.tenant.post_headers(),
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["service_id"] == subscriber.service_id and body["account_id"] == subscriber.account_id
    return subscriber, body["secret"]


async def login(api: httpx.AsyncClient, who: Subscriber, secret: str, device: str) -> httpx.Response:
    return await api.post(
        "/v1/devices/login",
        json={
            "account_id": who.account_id,
            "secret": secret,
            "device_id": device,
            "device_name": f"{device} app",
        },
    )


def active(database_url: str, service_id: str) -> list[str]:
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(DeviceLogin.device_id)
            .where(DeviceLogin.service_id == service_id, DeviceLogin.logged_out_at.is_(None))
            .order_by(DeviceLogin.logged_in_at)
        ).scalars()
        return list(rows)


async def test_secret_is_stored_hashed_and_logs_devices_in(api: httpx.AsyncClient, database_url: str) -> None:
    who, secret = await issue(api, database_url, max_devices=2)
    assert secret.startswith("mbs_")
    with unit_of_work(database_url) as session:
        row = session.get(ServiceCredential, who.service_id)
        assert row is not None and row.secret_hash == hash_secret(secret) and secret not in row.secret_hash
    first = await login(api, who, secret, "tv-1")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["device_id"] == "tv-1" and body["device_name"] == "tv-1 app"
    assert (body["max_devices"], body["policy"], body["logged_out"]) == (2, "refuse_new", [])
    again = await login(api, who, secret, "tv-1")
    assert again.json()["id"] == body["id"]
    assert again.json()["last_seen_at"] >= body["last_seen_at"]
    assert active(database_url, who.service_id) == ["tv-1"]


async def test_over_the_limit_is_refused_by_default(api: httpx.AsyncClient, database_url: str) -> None:
    who, secret = await issue(api, database_url, max_devices=2)
    assert (await login(api, who, secret, "tv")).status_code == 200
    assert (await login(api, who, secret, "phone")).status_code == 200
    third = await login(api, who, secret, "tablet")
    assert third.status_code == 409
    assert third.json()["code"] == "device_limit_reached"
    assert third.json()["detail"] == "2 devices are logged in, the plan allows 2; log one out first"
    assert active(database_url, who.service_id) == ["tv", "phone"]
    out = await api.post(
        "/v1/devices/logout", json={"account_id": who.account_id, "secret": secret, "device_id": "tv"}
    )
    assert out.json() == {"device_id": "tv", "logged_out": True}
    assert (await login(api, who, secret, "tablet")).status_code == 200
    assert active(database_url, who.service_id) == ["phone", "tablet"]


async def test_logout_oldest_policy_makes_room(api: httpx.AsyncClient, database_url: str) -> None:
    who, secret = await issue(api, database_url, max_devices=2, policy="logout_oldest")
    tv = (await login(api, who, secret, "tv")).json()
    await login(api, who, secret, "phone")
    third = await login(api, who, secret, "tablet")
    assert third.status_code == 200
    assert third.json()["logged_out"] == [tv["id"]]
    assert active(database_url, who.service_id) == ["phone", "tablet"]
    with unit_of_work(database_url) as session:
        ended = session.get(DeviceLogin, tv["id"])
        assert ended is not None and ended.logout_reason == "device_limit"


async def test_bad_credentials_and_inactive_services_are_refused(
    api: httpx.AsyncClient, database_url: str
) -> None:
    who, secret = await issue(api, database_url)
    wrong = await login(api, who, secret + "x", "tv")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    other = Subscriber("acc_01JD0000000000000000000000", who.subscription_id, who.service_id)
    assert (await login(api, other, secret, "tv")).status_code == 401
    with unit_of_work(database_url) as session:
        service = session.get(SubscriptionService, who.service_id)
        assert service is not None
        service.status = "suspended"
    suspended = await login(api, who, secret, "tv")
    assert (suspended.status_code, suspended.json()["code"]) == (403, "service_not_active")
    assert active(database_url, who.service_id) == []


async def test_rotating_the_secret_logs_every_device_out(api: httpx.AsyncClient, database_url: str) -> None:
    shop = make_shop(database_url)
    who = make_subscriber(database_url, shop)
    headers = shop.tenant.post_headers("rotate-1")
    first = await api.post("/v1/devices/credentials", json={"service_id": who.service_id}, headers=headers)
    secret = first.json()["secret"]
    replay = await api.post("/v1/devices/credentials", json={"service_id": who.service_id}, headers=headers)
    assert replay.json()["secret"] is None and replay.headers["Idempotent-Replayed"] == "true"
    assert (await login(api, who, secret, "tv")).status_code == 200
    second = await api.post(
        "/v1/devices/credentials", json={"service_id": who.service_id}, headers=shop.tenant.post_headers()
    )
    assert active(database_url, who.service_id) == []
    assert (await login(api, who, secret, "tv")).status_code == 401
    assert (await login(api, who, second.json()["secret"], "tv")).status_code == 200
