"""/v1/segments: create (rules validated, 422 naming the field by JSON pointer), read, list, edit, delete,
preview (count and sample, writes nothing, equals a refresh), members and changes by page, another
operator's segments not found, partners refused."""

from __future__ import annotations

from typing import Any

import httpx

from models.base import unit_of_work
from models.segments import Segment
from runtime.settings import Settings
from tests.support.factories import Tenant, make_child, make_operator
from tests.support.segment_data import Crafted

BASE = "/v1/segments"
FRENCH = {"field": "language", "in": ["fr"]}


async def create(
    api: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await api.post(BASE, json=body, headers=tenant.post_headers(key))


async def test_create_read_list_edit_delete(api: httpx.AsyncClient, operator: Tenant) -> None:
    body = {
        "code": "fr",
        "name": "French speakers",
        "rules": {"all": [FRENCH, {"not": {"field": "status", "in": ["closed"]}}]},
    }
    resp = await create(api, operator, body, key="s1")
    assert resp.status_code == 201, resp.text
    made = resp.json()
    assert made["id"].startswith("seg_") and made["member_count"] == 0 and made["refreshed_at"] is None
    assert made["rules"] == body["rules"] and made["organisation_id"] == operator.organisation_id
    replay = await create(api, operator, body, key="s1")
    assert replay.status_code == 201 and replay.json()["id"] == made["id"]
    taken = await create(api, operator, body)
    assert taken.status_code == 409 and taken.json()["code"] == "segment_code_taken"

    url = f"{BASE}/{made['id']}"
    assert (await api.get(url, headers=operator.auth)).json() == made
    listed = await api.get(BASE, headers=operator.auth, params={"limit": 1})
    assert [s["id"] for s in listed.json()["data"]] == [made["id"]] and listed.json()["has_more"] is False

    edited = await api.patch(url, json={"name": "Francophones", "rules": FRENCH}, headers=operator.auth)
    assert edited.status_code == 200 and edited.json()["name"] == "Francophones"
    assert edited.json()["rules"] == FRENCH
    bad = await api.patch(url, json={"rules": {"field": "language", "in": "fr"}}, headers=operator.auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "/rules/in"
    empty = await api.patch(url, json={}, headers=operator.auth)
    assert empty.status_code == 422 and empty.json()["code"] == "empty_update"

    stranger = make_operator_from(api, operator)
    assert (await api.get(url, headers=stranger.auth)).json()["code"] == "segment_not_found"

    deleted = await api.delete(url, headers=operator.post_headers())
    assert deleted.status_code == 204
    assert (await api.get(url, headers=operator.auth)).status_code == 404


def make_operator_from(api: httpx.AsyncClient, operator: Tenant) -> Tenant:
    settings: Settings = api._transport.app.state.settings  # type: ignore[attr-defined]
    return make_operator(settings.database_url or "")


async def test_a_wrong_rule_is_a_422_naming_the_field(api: httpx.AsyncClient, operator: Tenant) -> None:
    cases = [
        ({"all": [FRENCH, {"field": "shoe_size", "in": ["42"]}]}, "/rules/all/1/field"),
        (
            {
                "any": [
                    {
                        "field": "usage",
                        "metric": "data",
                        "op": "gt",
                        "value": "lots",
                        "period": {"last_months": 3},
                    }
                ]
            },
            "/rules/any/0/value",
        ),
        (
            {
                "not": {
                    "field": "usage",
                    "metric": "data",
                    "op": "bigger",
                    "value": 1,
                    "period": {"last_months": 3},
                }
            },
            "/rules/not/op",
        ),
        (
            {"field": "amount_paid", "currency": "eur", "op": "gt", "value": 1, "period": {"last_months": 3}},
            "/rules/currency",
        ),
        ({"field": "tenure_months", "op": "gte", "value": 12, "colour": "red"}, "/rules/colour"),
        (
            {
                "field": "late_payments",
                "op": "gte",
                "value": 1,
                "period": {"last_months": 3, "from": "2026-01-01"},
            },
            "/rules/period",
        ),
        ({"field": "country"}, "/rules/in"),
    ]
    for rule, pointer in cases:
        resp = await create(api, operator, {"code": "bad", "name": "Bad", "rules": rule})
        assert resp.status_code == 422, (rule, resp.text)
        problem = resp.json()
        assert problem["code"] == "invalid_segment_rule"
        assert pointer in [e["field"] for e in problem["errors"]], (pointer, problem)
    preview = await api.post(
        f"{BASE}/preview", json={"rules": {"field": "nope"}}, headers=operator.post_headers()
    )
    assert preview.status_code == 422 and preview.json()["errors"][0]["field"] == "/rules/field"
    listed = await api.get(BASE, headers=operator.auth)
    assert listed.json()["data"] == []  # nothing half-written


async def test_preview_equals_refresh_and_members_and_changes_page(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings
) -> None:
    url = settings.database_url or ""
    data = Crafted(url, operator.organisation_id)
    french = sorted(data.account(language="fr") for _ in range(23))
    data.account(language="de")
    shown = await api.post(
        f"{BASE}/preview", json={"rules": FRENCH, "as_of": "2026-06-15"}, headers=operator.post_headers()
    )
    assert shown.status_code == 200, shown.text
    assert shown.json()["count"] == 23 and shown.json()["sample"] == french[:20]

    made = (await create(api, operator, {"code": "fr", "name": "French", "rules": FRENCH})).json()
    done = data.refresh(made["id"], "r1", "2026-06-15")
    assert done.member_count == shown.json()["count"]
    got = (await api.get(f"{BASE}/{made['id']}", headers=operator.auth)).json()
    assert got["member_count"] == 23 and got["refreshed_at"] is not None

    seen: list[str] = []
    cursor = None
    while True:
        page = await api.get(
            f"{BASE}/{made['id']}/members",
            headers=operator.auth,
            params={"limit": 10, **({"cursor": cursor} if cursor else {})},
        )
        assert page.status_code == 200, page.text
        seen += [m["account_id"] for m in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == french
    changes = await api.get(f"{BASE}/{made['id']}/changes", headers=operator.auth, params={"limit": 20})
    body = changes.json()
    assert body["has_more"] is True and len(body["data"]) == 20
    assert {c["change"] for c in body["data"]} == {"joined"} and {c["refresh_id"] for c in body["data"]} == {
        "r1"
    }
    rest = await api.get(
        f"{BASE}/{made['id']}/changes", headers=operator.auth, params={"cursor": body["next_cursor"]}
    )
    assert len(rest.json()["data"]) == 3 and rest.json()["has_more"] is False
    bad = await api.get(f"{BASE}/{made['id']}/changes", headers=operator.auth, params={"cursor": "zzz"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


async def test_partners_may_not_touch_segments(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings
) -> None:
    partner = make_child(settings.database_url or "", operator.organisation_id)
    resp = await create(api, partner, {"code": "fr", "name": "French", "rules": FRENCH})
    assert resp.status_code == 403
    assert (await api.get(BASE, headers=partner.auth)).status_code == 403
    with unit_of_work(settings.database_url or "") as session:
        assert session.query(Segment).filter(Segment.organisation_id == partner.organisation_id).count() == 0
