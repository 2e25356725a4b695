"""/v1/webhook-endpoints: the secret shown once and sealed at rest, reads without it, edits, deletes, the
deliveries with their attempts, redelivery by hand, 422s for bad URLs and event types, 404 across
organisations, partners refused."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, update

from api.app import create_app
from domain import webhooks
from models.base import unit_of_work
from models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from runtime.settings import Settings
from tests.support.factories import Tenant, make_child, make_operator
from tests.support.webhook_support import webhook_delivery

BASE = "/v1/webhook-endpoints"
HOOK = "http://127.0.0.1:9/hooks"  # a closed port: nothing is ever delivered there


async def create(
    api: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await api.post(BASE, json=body, headers=tenant.post_headers(key))


async def test_the_secret_is_shown_once_and_sealed_at_rest(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings
) -> None:
    resp = await create(api, operator, {"url": HOOK, "event_types": ["invoice.issued"]}, key="k1")
    assert resp.status_code == 201, resp.text
    made = resp.json()
    secret = made["secret"]
    assert secret.startswith("whsec_")
    assert made["url"] == HOOK and made["event_types"] == ["invoice.issued"] and made["enabled"] is True
    assert made["organisation_id"] == operator.organisation_id and made["id"].startswith("whe_")

    replay = await create(api, operator, {"url": HOOK, "event_types": ["invoice.issued"]}, key="k1")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == made["id"] and replay.json()["secret"] is None

    got = await api.get(f"{BASE}/{made['id']}", headers=operator.auth)
    listed = await api.get(BASE, headers=operator.auth)
    assert got.status_code == 200 and "secret" not in got.json()
    assert [e["id"] for e in listed.json()["data"]] == [made["id"]]
    assert secret not in got.text + listed.text

    with unit_of_work(settings.database_url or "") as session:
        endpoint = session.get(WebhookEndpoint, made["id"])
        assert endpoint is not None and secret not in endpoint.secret_sealed
        assert webhooks.secret_vault(settings.data_key).open(endpoint.secret_sealed, endpoint.id) == secret


async def test_edit_and_delete(api: httpx.AsyncClient, operator: Tenant, settings: Settings) -> None:
    made = (await create(api, operator, {"url": HOOK})).json()
    assert made["event_types"] == []
    url = f"{BASE}/{made['id']}"
    edited = await api.patch(
        url,
        json={"url": "https://hooks.example.com/x", "event_types": ["payment.failed"]},
        headers=operator.auth,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["url"] == "https://hooks.example.com/x"
    assert edited.json()["event_types"] == ["payment.failed"]

    with unit_of_work(settings.database_url or "") as session:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == made["id"])
            .values(enabled=False, disabled_reason="failing", failing_since=WebhookEndpoint.created_at)
        )
    enabled = await api.patch(url, json={"enabled": True}, headers=operator.auth)
    assert enabled.json()["enabled"] is True
    assert enabled.json()["disabled_reason"] is None and enabled.json()["failing_since"] is None

    empty = await api.patch(url, json={}, headers=operator.auth)
    assert (empty.status_code, empty.json()["code"]) == (422, "empty_update")
    deleted = await api.delete(url, headers=operator.auth)
    assert deleted.status_code == 204
    assert (await api.get(url, headers=operator.auth)).status_code == 404


async def test_deliveries_show_their_attempts_and_can_be_sent_again(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings
) -> None:
    made = (await create(api, operator, {"url": HOOK})).json()
    with unit_of_work(settings.database_url or "") as session:
        delivery_id = webhook_delivery(session, made["id"], operator.organisation_id)
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        delivery.status, delivery.attempts = "failed", 1
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                status_code=503,
                latency_ms=12,
                response_excerpt="down",
                error="HTTP 503",
            )
        )
    listed = await api.get(f"{BASE}/{made['id']}/deliveries", headers=operator.auth)
    assert listed.status_code == 200, listed.text
    (shown,) = listed.json()["data"]
    assert (
        shown["id"] == delivery_id and shown["status"] == "failed" and shown["event_type"] == "invoice.issued"
    )
    assert [
        (a["status_code"], a["latency_ms"], a["response_excerpt"], a["error"]) for a in shown["attempt_log"]
    ] == [(503, 12, "down", "HTTP 503")]

    again = await api.post(
        f"{BASE}/{made['id']}/deliveries/{delivery_id}/redeliver", headers=operator.post_headers()
    )
    assert again.status_code == 202, again.text
    assert again.json()["status"] == "pending" and len(again.json()["attempt_log"]) == 1
    missing = await api.post(
        f"{BASE}/{made['id']}/deliveries/whd_nope/redeliver", headers=operator.post_headers()
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "webhook_delivery_not_found")


async def test_bad_input_is_422(api: httpx.AsyncClient, operator: Tenant, database_url: str) -> None:
    cases = [
        ({"url": "ftp://example.com/x"}, "webhook_url_invalid"),
        ({"url": "not a url"}, "webhook_url_invalid"),
        ({"url": "https://me:pw@example.com/x"}, "webhook_url_credentials"),
        ({"url": HOOK, "event_types": ["invoice.eaten"]}, "webhook_event_type_unknown"),
    ]
    for body, code in cases:
        resp = await create(api, operator, body)
        assert (resp.status_code, resp.json()["code"]) == (422, code), body
    made = (await create(api, operator, {"url": HOOK})).json()
    resp = await api.patch(f"{BASE}/{made['id']}", json={"url": "gopher://x"}, headers=operator.auth)
    assert (resp.status_code, resp.json()["code"]) == (422, "webhook_url_invalid")
    with unit_of_work(database_url) as session:
        ids = session.execute(
            select(WebhookEndpoint.id).where(WebhookEndpoint.organisation_id == operator.organisation_id)
        ).scalars()
        assert list(ids) == [made["id"]]  # the refused creations left nothing behind


async def test_private_urls_are_refused_in_production(settings: Settings, operator: Tenant) -> None:
    production = settings.model_copy(
        update={
            "environment": "production",
            "secret_key": "s" * 40,
            "data_key": "d" * 40,
            "payload_keys": "k1:" + "A" * 43 + "=",  # 32 bytes
            "temporal_address": "127.0.0.1:1",
        }
    )
    app = create_app(production)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        for url in ("http://localhost/x", "http://127.0.0.1:8080/x", "http://10.0.0.7/x", "http://[::1]/x"):
            resp = await create(api, operator, {"url": url})
            assert (resp.status_code, resp.json()["code"]) == (422, "webhook_url_private"), url
        assert (await create(api, operator, {"url": "https://hooks.example.com/x"})).status_code == 201


async def test_other_organisations_see_nothing_and_partners_are_refused(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    made = (await create(api, operator, {"url": HOOK})).json()
    other = make_operator(database_url, name="Other Operator")
    for path in (f"{BASE}/{made['id']}", f"{BASE}/{made['id']}/deliveries"):
        resp = await api.get(path, headers=other.auth)
        assert (resp.status_code, resp.json()["code"]) == (404, "webhook_endpoint_not_found")
    assert (await api.get(BASE, headers=other.auth)).json()["data"] == []
    partner = make_child(database_url, operator.organisation_id)
    for resp in (
        await api.get(BASE, headers=partner.auth),
        await create(api, partner, {"url": HOOK}),
    ):
        assert (resp.status_code, resp.json()["code"]) == (403, "operator_only")
