"""Accounts through the HTTP API: create, read, list, edit, and every kind of bad input."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import sqlalchemy as sa

from domain.organisations import OrganisationKind, Role
from models.base import engine_for
from tests.support.factories import Tenant, company, make_child, make_operator, person


def count_accounts(database_url: str, org_id: str) -> int:
    with engine_for(database_url).connect() as conn:
        return int(
            conn.execute(
                sa.text("select count(*) from accounts where organisation_id=:o"), {"o": org_id}
            ).scalar_one()
        )


async def test_create_person_and_read_back(api: httpx.AsyncClient, operator: Tenant) -> None:
    resp = await api.post("/v1/accounts", json=person(), headers=operator.post_headers())
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["id"].startswith("acc_") and len(body["id"]) == 30
    assert body["display_name"] == "Ana Ruiz"
    assert body["phone"] == "+34600123456"
    assert body["organisation_id"] == operator.organisation_id
    assert body["verification_status"] == "not_requested" and body["process_id"] is None
    got = await api.get(f"/v1/accounts/{body['id']}", headers=operator.auth)
    assert got.status_code == 200
    assert got.json()["addresses"][0]["country"] == "ES"
    assert got.json()["version"] == 1


async def test_company_with_child_accounts(api: httpx.AsyncClient, operator: Tenant) -> None:
    parent = (await api.post("/v1/accounts", json=company(), headers=operator.post_headers())).json()
    child = await api.post(
        "/v1/accounts",
        json=company(legal_name="Acme Norte", parent_account_id=parent["id"]),
        headers=operator.post_headers(),
    )
    assert child.status_code == 201, child.text
    listed = await api.get("/v1/accounts", params={"parent_account_id": parent["id"]}, headers=operator.auth)
    assert [a["id"] for a in listed.json()["data"]] == [child.json()["id"]]


async def test_person_cannot_be_a_parent(api: httpx.AsyncClient, operator: Tenant) -> None:
    parent = (await api.post("/v1/accounts", json=person(), headers=operator.post_headers())).json()
    resp = await api.post(
        "/v1/accounts", json=person(parent_account_id=parent["id"]), headers=operator.post_headers()
    )
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_parent_account"


async def test_idempotent_create_replays_and_conflicts(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    body = person()
    headers = operator.post_headers("create-ana-1")
    first = await api.post("/v1/accounts", json=body, headers=headers)
    second = await api.post("/v1/accounts", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    other = await api.post("/v1/accounts", json={**body, "given_name": "Eva"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert count_accounts(database_url, operator.organisation_id) == 1


async def test_concurrent_requests_with_one_key_make_one_account(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    body, headers = person(), operator.post_headers()
    responses = await asyncio.gather(
        *[api.post("/v1/accounts", json=body, headers=headers) for _ in range(6)]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert count_accounts(database_url, operator.organisation_id) == 1


async def test_post_without_idempotency_key_is_refused(api: httpx.AsyncClient, operator: Tenant) -> None:
    resp = await api.post("/v1/accounts", json=person(), headers=operator.auth)
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "idempotency_key_required"


async def test_validation_names_each_bad_field(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    cases = {
        "currency": person(currency="EUX"),
        "timezone": person(timezone="Europe/Atlantis"),
        "email": person(email="not-an-email"),
        "addresses.0.country": person(addresses=[{"line1": "x", "city": "y", "country": "XX"}]),
        "phone": person(phone="12345"),
        "language": person(language="Spanish"),
        "nickname": person(nickname="ana"),
        "type": person(type="robot"),
    }
    for field, body in cases.items():
        resp = await api.post("/v1/accounts", json=body, headers=operator.post_headers())
        assert resp.status_code == 422, (field, resp.text)
        problem = resp.json()
        assert problem["code"] == "validation_error"
        assert field in [e["field"] for e in problem["errors"]], (field, problem)
        assert field in problem["detail"]
    assert count_accounts(database_url, operator.organisation_id) == 0


async def test_type_specific_rules(api: httpx.AsyncClient, operator: Tenant) -> None:
    no_names = await api.post("/v1/accounts", json=person(given_name=None), headers=operator.post_headers())
    assert no_names.status_code == 422 and "given_name" in no_names.json()["detail"]
    reverse = await api.post(
        "/v1/accounts", json=person(tax_status="reverse_charge"), headers=operator.post_headers()
    )
    assert reverse.status_code == 422 and "reverse_charge" in reverse.json()["detail"]


async def test_wrong_types_malformed_json_and_oversized_bodies(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    wrong = await api.post(
        "/v1/accounts", json=person(addresses="Calle Mayor"), headers=operator.post_headers()
    )
    assert wrong.status_code == 422
    broken = await api.post(
        "/v1/accounts",
        content=b'{"type": "person",',
        headers={**operator.post_headers(), "Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_json"
    huge = await api.post(
        "/v1/accounts", json=person(display_name="x" * 2_000_000), headers=operator.post_headers()
    )
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"


async def test_authentication_and_roles(api: httpx.AsyncClient, database_url: str) -> None:
    assert (await api.get("/v1/accounts")).json()["code"] == "unauthenticated"
    bad = await api.get("/v1/accounts", headers={"Authorization": "Bearer mb_key_nope_nope"})
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_api_key"
    agent = make_operator(database_url, role=Role.AGENT)
    assert (await api.get("/v1/accounts", headers=agent.auth)).status_code == 200
    forbidden = await api.post(
        "/v1/organisations", json={"name": "X", "kind": "partner"}, headers=agent.post_headers()
    )
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"


async def test_subtree_visibility(api: httpx.AsyncClient, database_url: str) -> None:
    operator = make_operator(database_url)
    partner = make_child(database_url, operator.organisation_id, kind=OrganisationKind.PARTNER)
    stranger = make_operator(database_url)
    # A partner's own customer (B2B2C) is visible to the partner and to the operator above it.
    mine = (await api.post("/v1/accounts", json=person(), headers=partner.post_headers())).json()
    assert mine["organisation_id"] == partner.organisation_id
    assert (await api.get(f"/v1/accounts/{mine['id']}", headers=operator.auth)).status_code == 200
    # The operator can place an account in the partner's organisation, not the other way round.
    placed = await api.post(
        "/v1/accounts", json=person(organisation_id=partner.organisation_id), headers=operator.post_headers()
    )
    assert placed.status_code == 201
    upward = await api.post(
        "/v1/accounts", json=person(organisation_id=operator.organisation_id), headers=partner.post_headers()
    )
    assert upward.status_code == 404 and upward.json()["code"] == "organisation_not_found"
    # Another operator's records are reported as not found, for reads and edits alike.
    foreign = await api.get(f"/v1/accounts/{mine['id']}", headers=stranger.auth)
    assert foreign.status_code == 404 and foreign.json()["code"] == "account_not_found"
    edit = await api.patch(
        f"/v1/accounts/{mine['id']}", json={"phone": "+34911222333"}, headers=stranger.auth
    )
    assert edit.status_code == 404
    listed = await api.get("/v1/accounts", headers=stranger.auth)
    assert listed.json()["data"] == []


async def test_bad_ids_are_not_found(api: httpx.AsyncClient, operator: Tenant) -> None:
    for bad in ("acc_123", "not-an-id", "acc_" + "Z" * 26, "org_01JD0000000000000000000000"):
        resp = await api.get(f"/v1/accounts/{bad}", headers=operator.auth)
        assert resp.status_code == 404, bad
        assert resp.json()["code"] == "account_not_found"
    assert (await api.get("/v1/nothing-here", headers=operator.auth)).json()["code"] == "not_found"


async def test_cursor_pagination_and_filters(api: httpx.AsyncClient, operator: Tenant) -> None:
    created = []
    for i in range(7):
        body = person(currency="USD" if i % 2 else "EUR", external_ref=f"crm-{i}")
        created.append(
            (await api.post("/v1/accounts", json=body, headers=operator.post_headers())).json()["id"]
        )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/accounts", params=params, headers=operator.auth)).json()
        seen += [a["id"] for a in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == created
    usd = (await api.get("/v1/accounts", params={"currency": "USD"}, headers=operator.auth)).json()["data"]
    assert [a["id"] for a in usd] == created[1::2]
    bad_cursor = await api.get("/v1/accounts", params={"cursor": "garbage"}, headers=operator.auth)
    assert bad_cursor.status_code == 422 and bad_cursor.json()["code"] == "invalid_cursor"
    bad_limit = await api.get("/v1/accounts", params={"limit": 0}, headers=operator.auth)
    assert bad_limit.status_code == 422 and bad_limit.json()["errors"][0]["field"] == "limit"


async def test_patch_edits_with_optimistic_version(api: httpx.AsyncClient, operator: Tenant) -> None:
    acc = (await api.post("/v1/accounts", json=person(), headers=operator.post_headers())).json()
    url = f"/v1/accounts/{acc['id']}"
    edited = await api.patch(
        url,
        json={"family_name": "Ruiz Gil", "timezone": "Atlantic/Canary"},
        headers={**operator.auth, "If-Match": "1"},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["display_name"] == "Ana Ruiz Gil"
    assert edited.json()["timezone"] == "Atlantic/Canary" and edited.json()["version"] == 2
    stale = await api.patch(url, json={"phone": "+34911222333"}, headers={**operator.auth, "If-Match": "1"})
    assert stale.status_code == 409 and stale.json()["code"] == "version_mismatch"
    nulled = await api.patch(url, json={"email": None}, headers=operator.auth)
    assert nulled.status_code == 422 and nulled.json()["code"] == "field_required"
    bad_tz = await api.patch(url, json={"timezone": "Mars/Olympus"}, headers=operator.auth)
    assert bad_tz.status_code == 422
    unknown = await api.patch(url, json={"currency": "EUR", "colour": "red"}, headers=operator.auth)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "colour"
    after = (await api.get(url, headers=operator.auth)).json()
    assert after["version"] == 2 and after["phone"] == "+34600123456"


async def test_patch_rejects_parent_cycles(api: httpx.AsyncClient, operator: Tenant) -> None:
    top = (await api.post("/v1/accounts", json=company(), headers=operator.post_headers())).json()
    sub = (
        await api.post(
            "/v1/accounts", json=company(parent_account_id=top["id"]), headers=operator.post_headers()
        )
    ).json()
    cycle = await api.patch(
        f"/v1/accounts/{top['id']}", json={"parent_account_id": sub["id"]}, headers=operator.auth
    )
    assert cycle.status_code == 422 and cycle.json()["code"] == "parent_account_cycle"


async def test_idempotency_keys_are_scoped_per_organisation(
    api: httpx.AsyncClient, database_url: str
) -> None:
    one, two = make_operator(database_url), make_operator(database_url)
    key = f"shared-{uuid.uuid4().hex}"
    a = await api.post("/v1/accounts", json=person(), headers=one.post_headers(key))
    b = await api.post("/v1/accounts", json=person(), headers=two.post_headers(key))
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]
