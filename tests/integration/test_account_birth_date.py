"""An account's optional date of birth through the API: given on create, read back, edited and removed;
refused for a company, in the future or before 1900 (422 naming the field); and an age band of a segment
preview counts the accounts by it."""

from __future__ import annotations

import httpx

from tests.support.factories import Tenant, company, make_operator, person


async def test_a_birth_date_is_given_read_edited_and_removed(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    made = await api.post(
        "/v1/accounts", json=person(birth_date="1990-02-28"), headers=operator.post_headers()
    )
    assert made.status_code == 201, made.text
    account_id = made.json()["id"]
    assert made.json()["birth_date"] == "1990-02-28"
    assert (await api.get(f"/v1/accounts/{account_id}", headers=operator.auth)).json()[
        "birth_date"
    ] == "1990-02-28"
    edited = await api.patch(
        f"/v1/accounts/{account_id}", json={"birth_date": "1991-03-01"}, headers=operator.auth
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["birth_date"] == "1991-03-01"
    removed = await api.patch(f"/v1/accounts/{account_id}", json={"birth_date": None}, headers=operator.auth)
    assert removed.status_code == 200 and removed.json()["birth_date"] is None
    without = await api.post("/v1/accounts", json=person(), headers=operator.post_headers())
    assert without.json()["birth_date"] is None


async def test_a_wrong_birth_date_is_a_422_naming_the_field(api: httpx.AsyncClient, operator: Tenant) -> None:
    for bad in ("2999-01-01", "1899-12-31", "30/01/1990", 19900130):
        resp = await api.post("/v1/accounts", json=person(birth_date=bad), headers=operator.post_headers())
        assert resp.status_code == 422, (bad, resp.text)
        assert any(e["field"].endswith("birth_date") for e in resp.json()["errors"]), resp.json()
    firm = await api.post(
        "/v1/accounts", json=company(birth_date="1990-01-01"), headers=operator.post_headers()
    )
    assert firm.status_code == 422 and "birth_date" in firm.json()["detail"]
    made = (await api.post("/v1/accounts", json=person(), headers=operator.post_headers())).json()
    late = await api.patch(
        f"/v1/accounts/{made['id']}", json={"birth_date": "2999-01-01"}, headers=operator.auth
    )
    assert late.status_code == 422
    assert (await api.get(f"/v1/accounts/{made['id']}", headers=operator.auth)).json()["version"] == 1


async def test_a_preview_counts_an_age_band_by_the_birth_dates(
    api: httpx.AsyncClient, database_url: str
) -> None:
    tenant = make_operator(database_url)  # its own accounts only
    born = {"2008-06-15": None, "2000-01-01": None, "1960-05-05": None}
    for day in born:
        made = await api.post("/v1/accounts", json=person(birth_date=day), headers=tenant.post_headers())
        born[day] = made.json()["id"]
    await api.post("/v1/accounts", json=person(), headers=tenant.post_headers())  # no birth date
    band = {"field": "age_band", "min": 18, "max": 30}
    preview = await api.post(
        "/v1/segments/preview", json={"rules": band, "as_of": "2026-06-15"}, headers=tenant.post_headers()
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 2
    assert set(preview.json()["sample"]) == {born["2008-06-15"], born["2000-01-01"]}
    older = await api.post(
        "/v1/segments/preview",
        json={"rules": {"not": band}, "as_of": "2026-06-14"},  # the day before an 18th birthday
        headers=tenant.post_headers(),
    )
    assert set(older.json()["sample"]) == {born["2008-06-15"], born["1960-05-05"]}
    wrong = await api.post(
        "/v1/segments/preview",
        json={"rules": {"all": [{"field": "age_band", "min": "18"}]}},
        headers=tenant.post_headers(),
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_segment_rule"
    assert [e["field"] for e in wrong.json()["errors"]] == ["/rules/all/0/min"]
