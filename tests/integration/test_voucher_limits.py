"""Minting money: only the operator's admins create and activate voucher lots, and never above the
maximum value per voucher the operator set (EUR 100.00, or 100 major units of any currency, by default)."""

from __future__ import annotations

from typing import Any

import httpx

from activities.accounts.organisations import create_organisation, mint_api_key
from domain.organisations import OrganisationKind, Role
from models.base import unit_of_work
from models.organisations import Organisation
from tests.support.factories import Tenant, make_child


def operator_key(database_url: str, operator: Tenant, role: Role) -> Tenant:
    with unit_of_work(database_url) as session:
        org = session.get(Organisation, operator.organisation_id)
        assert org is not None
        _, token = mint_api_key(session, organisation=org, role=role, name=f"{role.value} key")
    return Tenant(operator.organisation_id, token)


def lot(value_minor: int, currency: str = "EUR") -> dict[str, Any]:
    return {"value_minor": value_minor, "currency": currency, "expires_on": "2099-12-31", "count": 1}


async def test_only_operator_admins_mint_and_activate_lots(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    made = await api.post("/v1/voucher-lots", json=lot(1000), headers=operator.post_headers())
    assert made.status_code == 201, made.text
    lot_id = made.json()["id"]
    for role in (Role.AGENT, Role.INTEGRATOR):
        staff = operator_key(database_url, operator, role)
        refused = await api.post("/v1/voucher-lots", json=lot(1000), headers=staff.post_headers())
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        refused = await api.post(f"/v1/voucher-lots/{lot_id}/activate", headers=staff.post_headers())
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    partner = make_child(database_url, operator.organisation_id)
    refused = await api.post("/v1/voucher-lots", json=lot(1000), headers=partner.post_headers())
    assert (refused.status_code, refused.json()["code"]) == (403, "operator_only")


async def test_lots_above_the_default_maximum_are_refused(api: httpx.AsyncClient, operator: Tenant) -> None:
    too_much = await api.post("/v1/voucher-lots", json=lot(10_001), headers=operator.post_headers())
    assert (too_much.status_code, too_much.json()["code"]) == (422, "voucher_value_too_high")
    assert "100.00 EUR" in too_much.json()["detail"]
    yen = await api.post("/v1/voucher-lots", json=lot(101, "JPY"), headers=operator.post_headers())
    assert (yen.status_code, yen.json()["code"]) == (422, "voucher_value_too_high")
    at_most = await api.post("/v1/voucher-lots", json=lot(10_000), headers=operator.post_headers())
    assert (at_most.status_code, at_most.json()["value_minor"]) == (201, 10_000)


async def test_the_operator_sets_the_maximum_and_it_holds_at_activation(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    big = await api.post("/v1/voucher-lots", json=lot(5_000), headers=operator.post_headers())
    assert big.status_code == 201, big.text
    path = f"/v1/organisations/{operator.organisation_id}"
    limits = {"EUR": 2_000, "USD": 50_000}
    out = await api.patch(path, json={"voucher_max_value_minor": limits}, headers=operator.auth)
    assert (out.status_code, out.json()["voucher_max_value_minor"]) == (200, limits), out.text

    refused = await api.post("/v1/voucher-lots", json=lot(2_001), headers=operator.post_headers())
    assert (refused.status_code, refused.json()["code"]) == (422, "voucher_value_too_high")
    ok = await api.post("/v1/voucher-lots", json=lot(2_000), headers=operator.post_headers())
    assert ok.status_code == 201
    dollars = await api.post("/v1/voucher-lots", json=lot(50_000, "USD"), headers=operator.post_headers())
    assert dollars.status_code == 201, dollars.text
    # A lot made under a higher maximum is not put on sale above the one in force.
    late = await api.post(f"/v1/voucher-lots/{big.json()['id']}/activate", headers=operator.post_headers())
    assert (late.status_code, late.json()["code"]) == (422, "voucher_value_too_high")


async def test_only_an_operator_sets_a_voucher_maximum(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    partner = make_child(database_url, operator.organisation_id)
    own = await api.patch(
        f"/v1/organisations/{partner.organisation_id}",
        json={"voucher_max_value_minor": {"EUR": 10**9}},
        headers=partner.auth,
    )
    assert (own.status_code, own.json()["code"]) == (422, "operator_setting")
    bad = [{"XXX": 100}, {"EUR": 0}, {"EUR": -5}, {"eur": 100}]
    for limits in bad:
        resp = await api.patch(
            f"/v1/organisations/{operator.organisation_id}",
            json={"voucher_max_value_minor": limits},
            headers=operator.auth,
        )
        assert resp.status_code == 422, (limits, resp.text)
    with unit_of_work(database_url) as session:
        outlet = create_organisation(
            session,
            name="outlet",
            kind=OrganisationKind.OUTLET,
            parent=session.get(Organisation, partner.organisation_id),
            country="ES",
        )
        outlet_id = outlet.id
    # The operator cannot set it on a partner's organisation either: it is the operator's setting.
    resp = await api.patch(
        f"/v1/organisations/{outlet_id}", json={"voucher_max_value_minor": {"EUR": 1}}, headers=operator.auth
    )
    assert (resp.status_code, resp.json()["code"]) == (422, "operator_setting")
