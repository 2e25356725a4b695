"""A replayed POST answers the very bytes of the first answer (jsonb used to reorder the keys)."""

from __future__ import annotations

import httpx

from tests.support.factories import Tenant, company, person


async def test_replay_of_an_account_creation_is_byte_for_byte(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    headers = operator.post_headers()
    body = person()
    first = await api.post("/v1/accounts", json=body, headers=headers)
    replay = await api.post("/v1/accounts", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert list(replay.json()) == list(first.json())


async def test_replay_of_a_payment_is_byte_for_byte(api: httpx.AsyncClient, operator: Tenant) -> None:
    account = (await api.post("/v1/accounts", json=company(), headers=operator.post_headers())).json()
    headers = operator.post_headers()
    payment = {"account_id": account["id"], "amount_minor": 1250, "currency": "EUR", "method": "cash"}
    first = await api.post("/v1/payments", json=payment, headers=headers)
    replay = await api.post("/v1/payments", json=payment, headers=headers)
    assert first.status_code == replay.status_code == 201, first.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
