"""Telephony rating: the CGRateS tutorial tariff, rate groups, one rounding at the end."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import PricingError, RoundingMode
from domain.rating import RateGroup, Tariff, rate_call

CGRATES = Tariff(
    connect_fee=Decimal("0.40"),
    groups=(RateGroup(0, Decimal("0.20"), 60, 60), RateGroup(60, Decimal("0.10"), 60, 1)),
)


def test_cgrates_tutorial_call_of_130_seconds_rounds_once() -> None:
    assert rate_call(CGRATES, 130) == Decimal("0.7167")  # CGRateS itself says 0.7169


@pytest.mark.parametrize(
    ("seconds", "cost"),
    [(0, "0.4000"), (1, "0.6000"), (60, "0.6000"), (61, "0.6017"), (120, "0.7000"), (3600, "6.5000")],
)
def test_first_minute_is_charged_whole_then_per_second(seconds: int, cost: str) -> None:
    assert rate_call(CGRATES, seconds) == Decimal(cost)


def test_precision_and_rounding_mode_are_configurable() -> None:
    half_up = Tariff(CGRATES.connect_fee, CGRATES.groups, precision=2, mode=RoundingMode.HALF_UP)
    assert rate_call(half_up, 130) == Decimal("0.72")
    down = Tariff(CGRATES.connect_fee, CGRATES.groups, precision=4, mode=RoundingMode.DOWN)
    assert rate_call(down, 130) == Decimal("0.7166")
    assert rate_call(CGRATES, Decimal("60.5")) == Decimal("0.6017")


def test_an_increment_past_a_group_boundary_is_not_charged_twice() -> None:
    tariff = Tariff(
        Decimal(0), (RateGroup(0, Decimal("0.60"), 60, 60), RateGroup(30, Decimal("6.00"), 60, 1))
    )
    assert rate_call(tariff, 45) == Decimal("0.6000")  # one 60 s step covers the call
    assert rate_call(tariff, 61) == Decimal("0.7000")  # then the second group from second 60


def test_sums_of_inexact_group_costs_are_exact() -> None:
    tariff = Tariff(
        Decimal(0),
        (RateGroup(0, Decimal(2), 3, 1), RateGroup(1, Decimal(2), 3, 1), RateGroup(2, Decimal(2), 3, 1)),
        precision=4,
        mode=RoundingMode.UP,
    )
    assert rate_call(tariff, 3) == Decimal("2.0000")  # 3 * 2/3, not 2.0001


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: Tariff(Decimal(0), ()), "rate_groups_empty"),
        (lambda: Tariff(Decimal(0), (RateGroup(5, Decimal(1), 60, 1),)), "rate_group_invalid"),
        (
            lambda: Tariff(Decimal(0), (RateGroup(0, Decimal(1), 60, 1), RateGroup(0, Decimal(1), 60, 1))),
            "rate_groups_unordered",
        ),
        (lambda: RateGroup(0, Decimal(1), 0, 1), "rate_group_invalid"),
        (lambda: RateGroup(0, Decimal(1), 60, 0), "rate_group_invalid"),
        (lambda: RateGroup(0, Decimal(-1), 60, 1), "price_negative"),
        (lambda: rate_call(CGRATES, -1), "duration_negative"),
    ],
)
def test_bad_tariffs_and_calls(build: object, code: str) -> None:
    with pytest.raises(PricingError) as error:
        build()  # type: ignore[operator]
    assert error.value.code == code


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        rate_call(CGRATES, 1.5)  # type: ignore[arg-type]


@given(st.integers(0, 20_000), st.integers(0, 20_000))
def test_longer_calls_never_cost_less(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert rate_call(CGRATES, low) <= rate_call(CGRATES, high)


@given(st.integers(61, 20_000))
def test_rounded_once_is_within_one_step_of_the_exact_cost(seconds: int) -> None:
    exact = Decimal("0.60") + Decimal(seconds - 60) * Decimal("0.10") / 60
    cost = rate_call(CGRATES, seconds)
    assert Decimal(0) <= cost - exact < Decimal("0.0001")
