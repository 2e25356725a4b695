"""The partner network tree and API keys through the API."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from domain.organisations import OrganisationKind
from models.base import engine_for
from tests.support.factories import Tenant, make_child, make_operator, person


async def test_build_a_partner_tree(api: httpx.AsyncClient, operator: Tenant) -> None:
    partner = await api.post(
        "/v1/organisations",
        json={"name": "Fibra Sur", "kind": "partner", "country": "ES"},
        headers=operator.post_headers(),
    )
    assert partner.status_code == 201, partner.text
    outlet = await api.post(
        "/v1/organisations",
        json={"name": "Tienda Centro", "kind": "outlet", "parent_id": partner.json()["id"]},
        headers=operator.post_headers(),
    )
    assert outlet.status_code == 201
    assert outlet.json()["parent_id"] == partner.json()["id"]
    tree = (await api.get("/v1/organisations", headers=operator.auth)).json()["data"]
    assert [o["id"] for o in tree] == [operator.organisation_id, partner.json()["id"], outlet.json()["id"]]
    nested = await api.post(
        "/v1/organisations",
        json={"name": "Bad", "kind": "partner", "parent_id": outlet.json()["id"]},
        headers=operator.post_headers(),
    )
    assert nested.status_code == 422 and nested.json()["code"] == "invalid_parent"
    operator_kind = await api.post(
        "/v1/organisations", json={"name": "Bad", "kind": "operator"}, headers=operator.post_headers()
    )
    assert operator_kind.status_code == 422


async def test_api_keys_are_hashed_shown_once_and_scoped(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    partner = (
        await api.post(
            "/v1/organisations", json={"name": "P", "kind": "partner"}, headers=operator.post_headers()
        )
    ).json()
    headers = operator.post_headers()
    minted = await api.post(
        f"/v1/organisations/{partner['id']}/api-keys",
        json={"role": "agent", "name": "shop till"},
        headers=headers,
    )
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]
    assert token.startswith("mb_key_")
    replay = await api.post(
        f"/v1/organisations/{partner['id']}/api-keys",
        json={"role": "agent", "name": "shop till"},
        headers=headers,
    )
    assert replay.json()["id"] == minted.json()["id"] and replay.json()["token"] is None
    with engine_for(database_url).connect() as conn:
        stored = conn.execute(
            sa.text("select secret_hash from api_keys where id=:i"), {"i": minted.json()["id"]}
        ).scalar_one()
        dumped = conn.execute(
            sa.text("select response_body::text from idempotency_keys where key=:k"),
            {"k": headers["Idempotency-Key"]},
        ).scalar_one()
    secret = token.split("_", 3)[3]
    assert secret not in stored and secret not in dumped
    agent = {"Authorization": f"Bearer {token}"}
    mine = await api.post("/v1/accounts", json=person(), headers={**agent, "Idempotency-Key": "k1"})
    assert mine.status_code == 201 and mine.json()["organisation_id"] == partner["id"]
    # The agent's key cannot see the operator's own customers or manage keys.
    top = (await api.post("/v1/accounts", json=person(), headers=operator.post_headers())).json()
    assert (await api.get(f"/v1/accounts/{top['id']}", headers=agent)).status_code == 404
    assert (await api.get(f"/v1/organisations/{partner['id']}/api-keys", headers=agent)).status_code == 403
    revoked = await api.delete(
        f"/v1/organisations/{partner['id']}/api-keys/{minted.json()['id']}", headers=operator.auth
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await api.get("/v1/accounts", headers=agent)).json()["code"] == "invalid_api_key"


async def test_other_operators_organisations_are_not_found(api: httpx.AsyncClient, database_url: str) -> None:
    one = make_operator(database_url)
    other = make_operator(database_url)
    partner = make_child(database_url, other.organisation_id, kind=OrganisationKind.RESELLER)
    for path in (
        f"/v1/organisations/{other.organisation_id}",
        f"/v1/organisations/{partner.organisation_id}",
    ):
        resp = await api.get(path, headers=one.auth)
        assert resp.status_code == 404 and resp.json()["code"] == "organisation_not_found"
    sneaky = await api.post(
        "/v1/organisations",
        json={"name": "X", "kind": "outlet", "parent_id": partner.organisation_id},
        headers=one.post_headers(),
    )
    assert sneaky.status_code == 404
    key = await api.post(
        f"/v1/organisations/{other.organisation_id}/api-keys",
        json={"role": "admin", "name": "steal"},
        headers=one.post_headers(),
    )
    assert key.status_code == 404
    # A partner admin sees its subtree only, not its operator.
    assert (
        await api.get(f"/v1/organisations/{other.organisation_id}", headers=partner.auth)
    ).status_code == 404


async def test_openapi_documents_problem_and_idempotency(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    post = spec["paths"]["/v1/accounts"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "/v1/processes/{process_id}" in spec["paths"]


async def test_an_organisation_has_a_contact_email_the_platform_writes_to(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    made = await api.post(
        "/v1/organisations",
        json={"name": "Fibra Este", "kind": "partner", "contact_email": "noc@fibraeste.example"},
        headers=operator.post_headers(),
    )
    assert made.status_code == 201, made.text
    assert made.json()["contact_email"] == "noc@fibraeste.example"
    changed = await api.patch(
        f"/v1/organisations/{operator.organisation_id}",
        json={"contact_email": "billing-ops@operator.example"},
        headers=operator.auth,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["contact_email"] == "billing-ops@operator.example"
    bad = await api.patch(
        f"/v1/organisations/{operator.organisation_id}",
        json={"contact_email": "not an address"},
        headers=operator.auth,
    )
    assert bad.status_code == 422
    assert (await api.get(f"/v1/organisations/{operator.organisation_id}", headers=operator.auth)).json()[
        "contact_email"
    ] == "billing-ops@operator.example"
