"""The rules of partner charges (domain/partner_charges.py) and SportStream's push signature."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.partner_charges import (
    ChargeFacts,
    MembershipFacts,
    batches,
    billing_of,
    check_charge,
    counts_as_reported,
    reference_for,
)
from integrations.partners.base import BadSignature
from integrations.partners.sportstream.provider import check_signature
from integrations.partners.sportstream.simulator import sign

CHARGE = ChargeFacts(
    charge_number="NFX1",
    partner_plan="STANDARD",
    amount_minor=1549,
    currency="USD",
    local_amount_minor=1425,
    local_currency="EUR",
    paid_through=date(2026, 3, 31),
)
MEMBER = MembershipFacts(
    status="active",
    subscription_status="active",
    currency="EUR",
    allowance_minor=1500,
    included_in_price=False,
    prepaid=False,
)


def code(charge: ChargeFacts = CHARGE, member: MembershipFacts | None = MEMBER) -> str | None:
    return check_charge(charge, member).reason_code


def test_a_good_charge_is_accepted_in_the_memberships_currency() -> None:
    verdict = check_charge(CHARGE, MEMBER)
    assert (verdict.accepted, verdict.amount_minor, verdict.billed_as, verdict.subscriber_amount_minor) == (
        True,
        1425,
        "invoice",
        1425,
    )
    usd = check_charge(CHARGE, replace(MEMBER, currency="USD", allowance_minor=1549))
    assert (usd.accepted, usd.amount_minor) == (True, 1549)  # the partner's own currency
    assert check_charge(CHARGE, replace(MEMBER, allowance_minor=1425)).accepted  # the allowance exactly


def test_how_the_subscriber_pays() -> None:
    assert billing_of(MEMBER, 1425) == ("invoice", 1425)
    assert billing_of(replace(MEMBER, prepaid=True), 1425) == ("wallet", 1425)
    assert billing_of(replace(MEMBER, prepaid=True, included_in_price=True), 1425) == ("included", 0)


def test_bad_charges_are_declined_with_a_reason() -> None:
    assert code(replace(CHARGE, local_currency="ZZZ")) == "currency_unknown"
    assert code(replace(CHARGE, currency="usd")) == "currency_unknown"
    assert code(replace(CHARGE, amount_minor=0)) == "amount_invalid"
    assert code(member=None) == "customer_unknown"
    assert code(member=replace(MEMBER, status="ended")) == "membership_not_active"
    assert code(member=replace(MEMBER, status="pending_signup")) == "membership_not_active"
    assert code(member=replace(MEMBER, subscription_status="terminated")) == "subscription_not_active"
    assert code(member=replace(MEMBER, currency="GBP")) == "currency_mismatch"
    assert code(member=replace(MEMBER, allowance_minor=1424)) == "above_allowance"
    assert code(member=replace(MEMBER, paid_through=date(2026, 3, 31))) == "period_already_paid"
    assert code(member=replace(MEMBER, paid_through=date(2026, 2, 28))) is None
    declined = check_charge(replace(CHARGE, local_currency="ZZZ"), MEMBER)
    assert (declined.accepted, declined.decline_status) == (False, "BAD_REQUEST")
    assert declined.reason == "currency_unknown: 'ZZZ' is not an ISO 4217 currency"
    assert check_charge(CHARGE, None).decline_status == "DECLINED"


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_an_accepted_charge_never_exceeds_the_allowance(amount: int, allowance: int) -> None:
    verdict = check_charge(
        replace(CHARGE, local_amount_minor=amount), replace(MEMBER, allowance_minor=allowance)
    )
    assert verdict.accepted == (amount <= allowance)
    assert verdict.subscriber_amount_minor <= allowance


@given(st.lists(st.text(min_size=1, max_size=5), max_size=200), st.integers(min_value=1, max_value=60))
def test_batches_keep_order_and_size(items: list[str], size: int) -> None:
    split = batches(items, size)
    assert [i for batch in split for i in batch] == items
    assert all(1 <= len(batch) <= size for batch in split)


def test_references_and_reports() -> None:
    assert reference_for("pch_01ABC") == "MB-pch_01ABC"
    assert counts_as_reported("ALREADY_PROCESSED")
    assert not counts_as_reported("CHARGE_NOT_FOUND")
    with pytest.raises(ValueError):
        batches(["a"], 0)


def test_sportstream_signatures() -> None:
    body = b'{"charges": []}'
    now = datetime.now(UTC)
    check_signature("s3cret", sign("s3cret", body, now), body, 300)
    with pytest.raises(BadSignature, match="invalid_signature"):
        check_signature("s3cret", sign("other", body, now), body, 300)
    with pytest.raises(BadSignature, match="invalid_signature"):
        check_signature("s3cret", sign("s3cret", body, now), body + b" ", 300)
    with pytest.raises(BadSignature, match="invalid_signature"):
        check_signature("s3cret", "", body, 300)
    old = datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(BadSignature, match="stale_signature"):
        check_signature("s3cret", sign("s3cret", body, old), body, 300)
