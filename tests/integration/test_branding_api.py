"""/v1/branding and /v1/app-config: operator admins write, validation answers 422 naming the field,
hosts belong to one operator, the logo upload is checked, and the public configuration has an ETag."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from domain.organisations import Role
from tests.support.factories import Tenant, make_child, make_operator

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def brand(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Fibra Sol",
        "colours": {
            "primary": "#7A1F5C",
            "on_primary": "#FFFFFF",
            "background": "#ffffff",
            "text": "#1b1f24",
            "accent": "#b3261e",
        },
        "font_family": "Inter, 'Open Sans', sans-serif",
        "footer_links": [{"label": "Terms", "url": "https://fibrasol.example/terms"}],
        "support_email": "help@fibrasol.example",
        "support_phone": "+34 900 100 200",
        "support_hours": "Mon-Fri 9-18",
        "hosts": ["Portal.FibraSol.example"],
        "default_language": "es",
    }
    body.update(overrides)
    return body


async def test_defaults_then_a_saved_branding(api: httpx.AsyncClient, operator: Tenant) -> None:
    before = await api.get("/v1/branding", headers=operator.auth)
    assert before.status_code == 200, before.text
    assert before.json()["version"] == 0 and before.json()["name"] == "Test Operator"

    saved = await api.put("/v1/branding", json=brand(), headers=operator.auth)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["colours"]["primary"] == "#7a1f5c"
    assert body["hosts"] == ["portal.fibrasol.example"]
    assert body["font_family"] == "Inter, 'Open Sans', sans-serif"
    assert body["version"] == 1
    again = await api.put("/v1/branding", json=brand(name="Fibra Sol 2"), headers=operator.auth)
    assert again.json()["version"] == 2
    read = await api.get("/v1/branding", headers=operator.auth)
    assert read.json() == again.json()


async def test_a_primary_pair_without_contrast_is_refused_naming_the_field(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    colours = {**brand()["colours"], "primary": "#777777"}
    refused = await api.put("/v1/branding", json=brand(colours=colours), headers=operator.auth)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "validation_error" or problem["code"] == "insufficient_contrast"
    fields = {(e["field"], e["code"]) for e in problem["errors"]}
    assert any(f.endswith("on_primary") and c == "insufficient_contrast" for f, c in fields), problem
    assert "4.5:1" in refused.text
    unchanged = await api.get("/v1/branding", headers=operator.auth)
    assert unchanged.json()["version"] == 0  # nothing half-written


async def test_unsafe_values_are_refused(api: httpx.AsyncClient, operator: Tenant) -> None:
    for bad in (
        {"font_family": "Arial;}</style><script>alert(1)</script>"},
        {"footer_links": [{"label": "x", "url": "javascript:alert(1)"}]},
        {"footer_links": [{"label": "x", "url": "http://plain.example"}]},
        {"colours": {**brand()["colours"], "accent": "red"}},
        {"hosts": ["https://portal.example.com"]},
        {"default_language": "fr"},
        {"logo_url": "data:image/png;base64,AAAA"},
    ):
        refused = await api.put("/v1/branding", json=brand(**bad), headers=operator.auth)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")


async def test_only_operator_admins_write(api: httpx.AsyncClient, database_url: str) -> None:
    admin = make_operator(database_url)
    agent = make_operator(database_url, role=Role.AGENT)
    partner = make_child(database_url, admin.organisation_id)
    assert (await api.put("/v1/branding", json=brand(hosts=[]), headers=agent.auth)).status_code == 403
    denied = await api.put("/v1/branding", json=brand(hosts=[]), headers=partner.auth)
    assert denied.status_code == 403 and denied.json()["code"] == "operator_only"
    assert (await api.put("/v1/branding", json=brand(hosts=[]))).status_code == 401


async def test_a_host_serves_one_operator(api: httpx.AsyncClient, database_url: str) -> None:
    first, second = make_operator(database_url), make_operator(database_url)
    host = f"portal-{first.organisation_id.lower().replace('_', '-')}.example"
    assert (await api.put("/v1/branding", json=brand(hosts=[host]), headers=first.auth)).status_code == 200
    taken = await api.put("/v1/branding", json=brand(hosts=[host]), headers=second.auth)
    assert taken.status_code == 409 and taken.json()["code"] == "host_taken", taken.text
    assert (await api.get("/v1/branding", headers=second.auth)).json()["version"] == 0
    # by Host, without the port
    config = await api.get("/v1/app-config", headers={"Host": f"{host}:8443"})
    assert config.status_code == 200 and config.json()["organisation_id"] == first.organisation_id


def logo(data: bytes, content_type: str = "image/png") -> dict[str, str]:
    return {"content_type": content_type, "data_base64": base64.b64encode(data).decode()}


async def test_logo_upload_is_checked_and_served(api: httpx.AsyncClient, operator: Tenant) -> None:
    missing = await api.put("/v1/branding/logo", json=logo(PNG), headers=operator.auth)
    assert missing.status_code == 404, missing.text  # no branding yet
    await api.put("/v1/branding", json=brand(hosts=[]), headers=operator.auth)
    fake = await api.put("/v1/branding/logo", json=logo(b"<svg onload=x>"), headers=operator.auth)
    assert fake.status_code == 422 and fake.json()["code"] == "invalid_logo", fake.text
    svg = await api.put("/v1/branding/logo", json=logo(b"<svg/>", "image/svg+xml"), headers=operator.auth)
    assert svg.status_code == 422 and svg.json()["code"] == "unsupported_logo_type"
    big = await api.put("/v1/branding/logo", json=logo(PNG + b"\1" * 300_000), headers=operator.auth)
    assert big.status_code == 422, big.text
    not_base64 = {"content_type": "image/png", "data_base64": "***"}
    assert (await api.put("/v1/branding/logo", json=not_base64, headers=operator.auth)).status_code == 422
    ok = await api.put("/v1/branding/logo", json=logo(PNG), headers=operator.auth)
    assert ok.status_code == 200, ok.text
    logo_url = ok.json()["logo_url"]
    assert logo_url.startswith(f"/v1/app-config/logo?operator={operator.organisation_id}")
    served = await api.get(logo_url)
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png"
    # a logo URL given later replaces the upload
    url = "https://cdn.example/logo.png"
    replaced = await api.put("/v1/branding", json=brand(hosts=[], logo_url=url), headers=operator.auth)
    assert replaced.json()["logo_url"] == url
    assert (await api.get(logo_url)).status_code == 404


async def test_app_config_is_public_and_cacheable(api: httpx.AsyncClient, operator: Tenant) -> None:
    await api.put("/v1/branding", json=brand(hosts=[]), headers=operator.auth)
    first = await api.get(f"/v1/app-config?operator={operator.organisation_id}")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["branding"]["name"] == "Fibra Sol" and body["branding"]["default_language"] == "es"
    assert body["languages"] == ["en", "es"] and "cash" in body["payment_methods"]
    assert body["oauth_client_id"] is None  # this operator registered no app
    assert body["api_base_url"].startswith("http")
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    same = await api.get(
        f"/v1/app-config?operator={operator.organisation_id}", headers={"If-None-Match": etag}
    )
    assert same.status_code == 304 and same.headers["etag"] == etag
    await api.put("/v1/branding", json=brand(hosts=[], name="Renamed"), headers=operator.auth)
    changed = await api.get(
        f"/v1/app-config?operator={operator.organisation_id}", headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["branding"]["name"] == "Renamed"
    unknown = await api.get("/v1/app-config?operator=org_nope")
    assert unknown.status_code == 404 and unknown.json()["code"] == "operator_unknown"


async def test_app_config_names_the_operators_app_client(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    from activities.identity.clients import register_client
    from models.base import unit_of_work

    client_id = f"app-{operator.organisation_id.lower()}"
    with unit_of_work(database_url) as session:
        register_client(session, operator.organisation_id, client_id, "Our app", ["app.example:/cb"])
    config = await api.get(f"/v1/app-config?operator={operator.organisation_id}")
    assert config.status_code == 200, config.text
    assert config.json()["oauth_client_id"] == client_id
