"""Partner rules without I/O: the revenue share rounded once, a month cut in the operator's zone, the
month format, the revenue share's bounds, the settlement's ledger entry, the partner_service spec."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain import ledger, partners
from domain.catalog import ProductSpec
from domain.errors import RuleViolation


@pytest.mark.parametrize(
    ("total", "currency", "percent", "expected"),
    [
        (4647, "USD", Decimal("12.5"), (581, 4066)),  # 580.875 → 581
        (1000, "USD", Decimal(0), (0, 1000)),
        (1000, "USD", Decimal(100), (1000, 0)),
        (999, "JPY", Decimal("33.3333"), (333, 666)),  # no minor units: 332.99967 → 333
        (0, "EUR", Decimal("20"), (0, 0)),
    ],
)
def test_the_operator_share_is_rounded_once_and_the_rest_is_payable(
    total: int, currency: str, percent: Decimal, expected: tuple[int, int]
) -> None:
    share, payable = partners.revenue_share(total, currency, percent)
    assert (share, payable) == expected and share + payable == total


def test_a_month_is_cut_in_the_operator_time_zone() -> None:
    start, end = partners.month_bounds(date(2026, 3, 1), "Europe/Madrid")
    assert start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # summer time from 29 March
    assert partners.month_bounds(date(2026, 12, 1), "UTC")[1] == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2026-13", "2026-3", "26-03", "", "1999-01", "2026-00"])
def test_a_month_is_yyyy_mm(bad: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        partners.parse_month(bad)
    assert (caught.value.code, caught.value.field) == ("invalid_month", "month")
    assert partners.parse_month("2026-03") == date(2026, 3, 1)


@pytest.mark.parametrize("bad", [Decimal(-1), Decimal("100.01"), Decimal("1.00001"), Decimal("NaN")])
def test_a_revenue_share_is_a_percentage_with_four_decimals(bad: Decimal) -> None:
    with pytest.raises(RuleViolation):
        partners.check_share_percent(bad)


def test_the_settlement_entry_is_balanced() -> None:
    postings = ledger.partner_settlement_entry("netflix", "USD", 4647, 581)
    assert sorted((p.ledger_account, p.debit_minor, p.credit_minor) for p in postings) == [
        ("partner_cost:netflix", 4647, 0),
        ("partner_payable:netflix", 0, 4066),
        ("revenue:partner_share", 0, 581),
    ]


def test_a_partner_service_product_carries_its_spec() -> None:
    spec = {"provider": "netflix", "partner_plan": "STANDARD", "allowance_minor": 1549, "currency": "USD"}
    product = ProductSpec.model_validate(
        {"code": "nfx", "name": "Netflix", "kind": "partner_service", "partner": spec}
    )
    assert product.partner is not None and product.partner.included_in_price is False
    for body in (
        {"code": "nfx", "name": "Netflix", "kind": "partner_service"},
        {"code": "tv", "name": "TV", "kind": "video", "partner": spec},
        {"code": "nfx", "name": "Netflix", "kind": "partner_service", "partner": {**spec, "currency": "US"}},
        {"code": "nfx", "name": "Netflix", "kind": "partner_service", "partner": {**spec, "extra": 1}},
    ):
        with pytest.raises(ValidationError):
            ProductSpec.model_validate(body)


@pytest.mark.parametrize(
    ("at", "zone", "month"),
    [
        (datetime(2026, 4, 2, 3, tzinfo=UTC), "Europe/Madrid", date(2026, 3, 1)),
        (datetime(2026, 4, 1, 2, tzinfo=UTC), "America/New_York", date(2026, 2, 1)),  # still 31 March there
        (datetime(2026, 3, 31, 23, tzinfo=UTC), "Asia/Tokyo", date(2026, 3, 1)),  # already 1 April there
        (datetime(2026, 1, 2, 3, tzinfo=UTC), "Pacific/Kiritimati", date(2025, 12, 1)),
        (datetime(2026, 1, 2, 3, tzinfo=UTC), "Etc/GMT+12", date(2025, 12, 1)),
    ],
)
def test_a_monthly_run_settles_the_month_before_in_the_connections_zone(
    at: datetime, zone: str, month: date
) -> None:
    assert partners.previous_month(at, zone) == month
