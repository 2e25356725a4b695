"""Usage price models: the Kill Bill tier scenario, every model, bad tier tables, properties."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import Money, PricingError, RoundingMode
from domain.usage_pricing import (
    FlatPrice,
    GraduatedTiers,
    IncludedAllowance,
    MinimumCharge,
    Package,
    PerUnit,
    Tier,
    VolumeTiers,
    package,
    price,
    price_usage,
)

MINUTE_BLOCKS = (Tier(0, 100, "1.00"), Tier(100, None, "0.50"))
MEGABYTES = (Tier(0, 1024, "0.50"), Tier(1024, None, "0.10"))


def test_kill_bill_graduated_tiers() -> None:
    minutes = price(Package(Decimal(10), GraduatedTiers(MINUTE_BLOCKS)), 1500, "EUR")
    data = price(GraduatedTiers(MEGABYTES), 2048, "EUR")
    assert (minutes, data) == (Money.of("125.00", "EUR"), Money.of("614.40", "EUR"))
    assert minutes + data == Money.of("739.40", "EUR")


def test_kill_bill_volume_tiers() -> None:
    minutes = price(Package(Decimal(10), VolumeTiers(MINUTE_BLOCKS)), 1500, "EUR")
    data = price(VolumeTiers(MEGABYTES), 2048, "EUR")
    assert (minutes, data) == (Money.of("75.00", "EUR"), Money.of("204.80", "EUR"))
    assert minutes + data == Money.of("279.80", "EUR")


def test_flat_per_unit_package_allowance_minimum() -> None:
    assert price(FlatPrice(Decimal("9.99")), 0, "EUR") == Money.of("9.99", "EUR")
    assert price(PerUnit(Decimal("0.015")), 333, "EUR") == Money.of("5.00", "EUR")  # 4.995 half-up
    assert price(PerUnit(Decimal("0.125")), 1, "EUR") == Money.of("0.13", "EUR")
    assert price(PerUnit(Decimal("0.125")), 1, "EUR", RoundingMode.HALF_EVEN) == Money.of("0.12", "EUR")
    assert price(package(10, "1.00"), 1, "EUR") == Money.of("1.00", "EUR")  # a started block is whole
    assert price(package(10, "1.00"), 20, "EUR") == Money.of("2.00", "EUR")
    assert price(package(10, "1.00"), 21, "EUR") == Money.of("3.00", "EUR")
    allowance = IncludedAllowance(Decimal(500), PerUnit(Decimal("0.05")))
    assert price(allowance, 450, "EUR") == Money.zero("EUR")
    assert price(allowance, 620, "EUR") == Money.of("6.00", "EUR")
    minimum = MinimumCharge(Decimal("5.00"), PerUnit(Decimal("0.10")))
    assert price(minimum, 10, "EUR") == Money.of("5.00", "EUR")
    assert price(minimum, 80, "EUR") == Money.of("8.00", "EUR")
    assert price(MinimumCharge(Decimal(3)), 0, "JPY") == Money.of(3, "JPY")


def test_tier_flat_fees_are_due_once_a_tier_is_entered() -> None:
    tiers = (Tier(0, 10, "1", flat_fee="5"), Tier(10, None, "0.5", flat_fee="2"))
    assert price(GraduatedTiers(tiers), 0, "EUR") == Money.zero("EUR")
    assert price(GraduatedTiers(tiers), 10, "EUR") == Money.of(15, "EUR")
    assert price(GraduatedTiers(tiers), 12, "EUR") == Money.of(18, "EUR")
    assert price(VolumeTiers(tiers), 12, "EUR") == Money.of(8, "EUR")
    assert price(VolumeTiers(tiers), 0, "EUR") == Money.zero("EUR")


def test_currency_precision_of_the_result() -> None:
    assert price(PerUnit(Decimal("0.35")), 3, "JPY") == Money.of(1, "JPY")
    assert price(PerUnit(Decimal("0.0005")), 3, "KWD") == Money.of("0.002", "KWD")


@pytest.mark.parametrize(
    ("tiers", "code"),
    [
        ((), "tiers_empty"),
        ((Tier(1, 10, "1"), Tier(10, None, "1")), "tier_start_not_zero"),
        ((Tier(0, 10, "1"), Tier(12, None, "1")), "tier_gap"),
        ((Tier(0, 10, "1"), Tier(8, None, "1")), "tier_overlap"),
        ((Tier(0, 10, "1"), Tier(10, 5, "1")), "tier_bounds_descending"),
        ((Tier(0, 0, "1"),), "tier_bounds_descending"),
        ((Tier(0, None, "1"), Tier(10, None, "1")), "tier_unbounded_not_last"),
    ],
)
def test_bad_tier_tables_are_refused(tiers: tuple[Tier, ...], code: str) -> None:
    for model in (GraduatedTiers, VolumeTiers):
        with pytest.raises(PricingError) as error:
            model(tiers)
        assert error.value.code == code
        assert error.value.message


def test_bad_quantities_and_prices() -> None:
    with pytest.raises(PricingError) as error:
        price(GraduatedTiers((Tier(0, 10, "1"),)), 11, "EUR")
    assert error.value.code == "quantity_beyond_tiers"
    with pytest.raises(PricingError) as error:
        price(PerUnit(Decimal(1)), -1, "EUR")
    assert error.value.code == "quantity_negative"
    with pytest.raises(PricingError) as error:
        Tier(0, None, "-1")
    assert error.value.code == "price_negative"
    with pytest.raises(PricingError) as error:
        package(0, "1")
    assert error.value.code == "block_size_invalid"
    with pytest.raises(TypeError):
        price(PerUnit(Decimal(1)), 1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Tier(0, None, 0.5)  # type: ignore[arg-type]


@st.composite
def descending_tiers(draw: st.DrawFn) -> tuple[Tier, ...]:
    widths = draw(st.lists(st.integers(1, 1000), min_size=0, max_size=4))
    prices = sorted(
        draw(st.lists(st.integers(0, 10_000), min_size=len(widths) + 1, max_size=len(widths) + 1)),
        reverse=True,
    )
    tiers, start = [], 0
    for width, cents in zip(widths, prices, strict=False):
        tiers.append(Tier(start, start + width, Decimal(cents).scaleb(-2)))
        start += width
    tiers.append(Tier(start, None, Decimal(prices[-1]).scaleb(-2)))
    return tuple(tiers)


QUANTITIES = st.decimals(min_value=0, max_value=100_000, places=3)


@given(descending_tiers(), QUANTITIES)
def test_graduated_is_never_below_volume_when_prices_descend(
    tiers: tuple[Tier, ...], quantity: Decimal
) -> None:
    graduated = price(GraduatedTiers(tiers), quantity, "EUR")
    volume = price(VolumeTiers(tiers), quantity, "EUR")
    assert graduated.amount_minor >= volume.amount_minor


@given(descending_tiers(), st.lists(QUANTITIES, max_size=20), st.randoms(use_true_random=False))
def test_usage_results_do_not_depend_on_the_order_of_lines(
    tiers: tuple[Tier, ...], quantities: list[Decimal], rng: random.Random
) -> None:
    shuffled = list(quantities)
    rng.shuffle(shuffled)
    for model in (GraduatedTiers(tiers), VolumeTiers(tiers), Package(Decimal(10), GraduatedTiers(tiers))):
        assert price_usage(model, quantities, "EUR") == price_usage(model, shuffled, "EUR")
        assert price_usage(model, quantities, "EUR") == price(model, sum(quantities, Decimal(0)), "EUR")


@given(descending_tiers(), QUANTITIES, QUANTITIES)
def test_tiered_charges_never_decrease_with_quantity(tiers: tuple[Tier, ...], a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    model = GraduatedTiers(tiers)
    assert price(model, low, "EUR").amount_minor <= price(model, high, "EUR").amount_minor
