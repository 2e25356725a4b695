"""domain/loyalty.py: rule definitions (validated data), award periods, points arithmetic and the ledger
entries of loyalty rewards."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain import loyalty
from domain.errors import Conflict, RuleViolation
from domain.ledger import check_balanced


def test_periods_and_windows() -> None:
    assert loyalty.period_of(date(2026, 3, 31)) == "2026-03"
    assert loyalty.parse_period("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert loyalty.previous_period(date(2026, 1, 1)) == "2025-12"
    assert loyalty.previous_period(date(2026, 3, 15)) == "2026-02"
    assert loyalty.spend_window("2026-03", 3) == (date(2026, 1, 1), date(2026, 4, 1))
    assert loyalty.spend_window("2026-01", 12) == (date(2025, 2, 1), date(2026, 2, 1))
    for bad in ("2026-13", "2026-3", "26-03", "once"):
        with pytest.raises(RuleViolation) as refused:
            loyalty.parse_period(bad)
        assert refused.value.field == "period"


def test_months_are_added_with_the_end_of_month_clamped() -> None:
    assert loyalty.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert loyalty.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert loyalty.add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert loyalty.add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert loyalty.add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
    # Twelve whole months at the end of March 2026: started on or before 1 April 2025.
    assert loyalty.matured_by(date(2026, 4, 1), 12) == date(2025, 4, 1)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)), st.integers(-240, 240))
def test_adding_months_lands_in_the_right_month(day: date, months: int) -> None:
    moved = loyalty.add_months(day, months)
    assert moved.year * 12 + moved.month == day.year * 12 + day.month + months
    assert moved.day == day.day or (moved.day < day.day and loyalty.add_months(moved, 0).day == moved.day)


def test_spend_points_round_down_and_points_value_rounds_once() -> None:
    assert loyalty.spend_points(6000, "EUR", Decimal("1")) == 60
    assert loyalty.spend_points(6099, "EUR", Decimal("1")) == 60
    assert loyalty.spend_points(6099, "EUR", Decimal("1.5")) == 91  # 60.99 x 1.5 = 91.485
    assert loyalty.spend_points(500, "JPY", Decimal("0.01")) == 5  # JPY has no minor units
    assert loyalty.spend_points(6000, "EUR", None) == 0
    assert loyalty.points_value_minor(5, Decimal("0.5"), "EUR") == 3  # 2.5 -> 3, half up
    assert loyalty.points_value_minor(199, Decimal("0.5"), "EUR") == 100
    assert loyalty.points_value_minor(3, Decimal("0.333333"), "EUR") == 1


def test_expiry_takes_the_unused_part_of_expired_lots() -> None:
    assert loyalty.expiring_points(100, 30) == 70
    assert loyalty.expiring_points(100, 130) == 0
    assert loyalty.points_expire_on(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert loyalty.points_expire_on(date(2026, 1, 31), None) is None


def test_redeeming_more_than_the_balance_is_a_conflict() -> None:
    loyalty.check_redeemable(100, 100)
    with pytest.raises(Conflict) as refused:
        loyalty.check_redeemable(100, 101)
    assert (refused.value.status, refused.value.code) == (409, "points_insufficient")
    with pytest.raises(RuleViolation):
        loyalty.check_redeemable(100, 0)


def test_loyalty_entries_are_balanced() -> None:
    credit = loyalty.loyalty_credit_entry("acc_1", "EUR", 500)
    assert [(p.ledger_account, p.debit_minor, p.credit_minor, p.customer_id) for p in credit] == [
        ("marketing:loyalty", 500, 0, None),
        ("wallet", 0, 500, "acc_1"),
    ]
    voucher = loyalty.loyalty_voucher_entry("EUR", 1000)
    assert [(p.ledger_account, p.debit_minor, p.credit_minor) for p in voucher] == [
        ("marketing:loyalty", 1000, 0),
        ("cash:voucher", 0, 1000),
    ]
    check_balanced(credit + voucher)


def test_rule_definitions_are_validated_data() -> None:
    rule = loyalty.RuleDefinition.model_validate(
        {
            "criterion": {"kind": "services", "product_kinds": ["video", "broadband", "telephony"]},
            "award": {"kind": "offer", "offer_code": "free-sports"},
            "frequency": "once",
        }
    )
    assert rule.frequency is loyalty.Frequency.ONCE
    assert loyalty.award_period(rule.frequency, "2026-03") == "once"
    assert loyalty.award_period(loyalty.Frequency.PER_PERIOD, "2026-03") == "2026-03"
    bad = [
        {"criterion": {"kind": "maturity", "months_active": 0}, "award": {"kind": "points", "points": 1}},
        {
            "criterion": {"kind": "services", "product_kinds": ["video", "video"]},
            "award": {"kind": "points", "points": 1},
        },
        {
            "criterion": {"kind": "usage", "min_services": 2, "metrics": ["Voice!"]},
            "award": {"kind": "points", "points": 1},
        },
        {
            "criterion": {"kind": "spend", "basis": "owed", "min_amount_minor": 1, "currency": "EUR"},
            "award": {"kind": "points", "points": 1},
        },
        {"criterion": {"kind": "maturity", "months_active": 1}, "award": {"kind": "points", "points": 0}},
        {
            "criterion": {"kind": "maturity", "months_active": 1},
            "award": {"kind": "voucher", "value_minor": 0, "currency": "EUR"},
        },
        {
            "criterion": {"kind": "maturity", "months_active": 1},
            "award": {"kind": "points", "points": 1},
            "code": "x",
        },
    ]
    for definition in bad:
        with pytest.raises(ValidationError):
            loyalty.RuleDefinition.model_validate(definition)
