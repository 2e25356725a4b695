"""/v1/me: who is signed in; the portal cookie alone for reads, its CSRF token too for writes; staff keys
are refused (the subscriber's API is the subscriber's own)."""

from __future__ import annotations

import httpx

from domain.subscribers import SESSION_COOKIE
from tests.support.factories import Tenant, person
from tests.support.subscribers import sign_in


async def _account(api: httpx.AsyncClient, operator: Tenant) -> str:
    created = await api.post("/v1/accounts", json=person(), headers=operator.post_headers())
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_me_answers_the_signed_in_subscriber_only(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = await _account(api, operator)
    signed = sign_in(database_url, account)
    me = await api.get("/v1/me", cookies=signed.cookies)
    assert me.status_code == 200, me.text
    assert me.json()["account_id"] == account
    assert me.json()["account_ids"] == [account]
    assert me.json()["session_kind"] == "portal"

    nobody = await api.get("/v1/me")
    assert nobody.status_code == 401 and nobody.json()["code"] == "unauthenticated"
    forged = await api.get("/v1/me", cookies={SESSION_COOKIE: signed.csrf_token})
    assert forged.status_code == 401
    staff = await api.get("/v1/me", headers=operator.auth)
    assert staff.status_code == 403 and staff.json()["code"] == "subscriber_only"
    unknown = await api.get("/v1/me", headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_access_token"
