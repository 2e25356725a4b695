"""/v1/me/account(s): the subscriber reads and edits their own contact details, sees a B2B parent's
children, and never another subscriber's account or a field that belongs to staff."""

from __future__ import annotations

import uuid

import httpx

from tests.support.billing_factory import make_account
from tests.support.factories import Tenant
from tests.support.subscribers import sign_in


async def test_read_and_edit_own_contact_details(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    signed = sign_in(database_url, account)
    mine = await api.get("/v1/me/account", cookies=signed.cookies)
    assert mine.status_code == 200, mine.text
    assert (mine.json()["id"], mine.json()["display_name"], mine.json()["currency"]) == (
        account,
        "Ana Ruiz",
        "EUR",
    )
    change = {
        "given_name": "Ana María",
        "phone": "+34 611 222 333",
        "language": "en",
        "addresses": [
            {
                "kind": "billing",
                "line1": "Gran Vía 2",
                "city": "Madrid",
                "postal_code": "28013",
                "country": "ES",
            }
        ],
    }
    headers = {**signed.write_headers, "Idempotency-Key": uuid.uuid4().hex}
    edited = await api.patch("/v1/me/account", json=change, cookies=signed.cookies, headers=headers)
    assert edited.status_code == 200, edited.text
    out = edited.json()
    assert (out["given_name"], out["display_name"], out["phone"], out["language"]) == (
        "Ana María",
        "Ana María Ruiz",
        "+34611222333",
        "en",
    )
    assert out["addresses"][0]["line1"] == "Gran Vía 2" and out["version"] == mine.json()["version"] + 1
    staff_view = await api.get(f"/v1/accounts/{account}", headers=operator.auth)
    assert staff_view.json()["given_name"] == "Ana María"

    for field, value in (
        ("currency", "USD"),
        ("tax_status", "exempt"),
        ("status", "closed"),
        ("email", "x@y.es"),
    ):
        refused = await api.patch(
            "/v1/me/account", json={field: value}, cookies=signed.cookies, headers=headers
        )
        assert refused.status_code == 422, (field, refused.text)
    after = await api.get("/v1/me/account", cookies=signed.cookies)
    assert (after.json()["currency"], after.json()["status"]) == ("EUR", "active")

    empty = await api.patch("/v1/me/account", json={}, cookies=signed.cookies, headers=headers)
    assert empty.status_code == 422 and empty.json()["code"] == "empty_update"
    no_csrf = await api.patch("/v1/me/account", json=change, cookies=signed.cookies)
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_token_invalid"
    staff = await api.patch("/v1/me/account", json=change, headers=operator.auth)
    assert staff.status_code == 403 and staff.json()["code"] == "subscriber_only"


async def test_a_parent_sees_its_children_and_a_child_only_itself(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    parent = make_account(database_url, operator.organisation_id, type="company", legal_name="Acme SL")
    child = make_account(database_url, operator.organisation_id, parent_account_id=parent)
    other = make_account(database_url, operator.organisation_id)
    parent_view = await api.get("/v1/me/accounts", cookies=sign_in(database_url, parent).cookies)
    assert [a["id"] for a in parent_view.json()] == [parent, child]
    child_view = await api.get("/v1/me/accounts", cookies=sign_in(database_url, child).cookies)
    assert [a["id"] for a in child_view.json()] == [child]
    other_view = await api.get("/v1/me/account", cookies=sign_in(database_url, other).cookies)
    assert other_view.json()["id"] == other
