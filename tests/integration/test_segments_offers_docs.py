"""The OpenAPI contract names the business reasons of segments, offers and loyalty: every 409 reason an offer
accept may answer, the loyalty redemption's 409, and the segment rule's 422 (its JSON pointers)."""

from __future__ import annotations

from typing import Any

from activities.offers.redemptions import REASONS
from api.app import create_app
from runtime.settings import Settings

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _spec(settings: Settings) -> dict[str, Any]:
    return create_app(settings).openapi()


def _response(spec: dict[str, Any], method: str, path: str, status: str) -> dict[str, Any]:
    response = spec["paths"][path][method]["responses"][status]
    assert response["content"] == PROBLEM, (method, path, status)
    return dict(response)


def test_an_offer_accept_documents_every_refusal(settings: Settings) -> None:
    spec = _spec(settings)
    refused = _response(spec, "post", "/v1/accounts/{account_id}/offers/{offer_id}/accept", "409")
    codes = {*REASONS, "plan_not_subscribed", "currency_mismatch"}
    assert set(refused["x-refusal-codes"]) == codes
    for code in codes:
        assert f"`{code}`" in refused["description"], code
    for reason in ("offer_ended", "offer_cap_reached", "account_cap_reached", "account_not_eligible"):
        assert f"`{reason}` ({REASONS[reason]})" in refused["description"]
    invalid = _response(spec, "post", "/v1/accounts/{account_id}/offers/{offer_id}/accept", "422")
    assert "`subscription_required`" in invalid["description"]
    for method, path in (("patch", "/v1/offers/{offer_id}"), ("post", "/v1/offers/{offer_id}/{move}")):
        edit = _response(spec, method, path, "409")
        assert "`offer_ended`" in edit["description"] and "`offer_status_invalid`" in edit["description"]


def test_a_points_redemption_documents_its_conflict(settings: Settings) -> None:
    spec = _spec(settings)
    short = _response(spec, "post", "/v1/accounts/{account_id}/points/redemptions", "409")
    assert "`points_insufficient`" in short["description"]
    assert "balance is unchanged" in short["description"]
    assert "points_insufficient" in short["x-problem-codes"]


def test_segment_rules_document_the_invalid_rule(settings: Settings) -> None:
    spec = _spec(settings)
    for method, path in (
        ("post", "/v1/segments"),
        ("post", "/v1/segments/preview"),
        ("patch", "/v1/segments/{segment_id}"),
    ):
        invalid = _response(spec, method, path, "422")
        assert "`invalid_segment_rule`" in invalid["description"], (method, path)
        assert "JSON pointer" in invalid["description"]
        assert "invalid_segment_rule" in invalid["x-problem-codes"]
