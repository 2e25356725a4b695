"""Price models for usage and recurring quantities.

Every model turns a quantity into an unrounded ``Decimal`` amount in major units; :func:`price` rounds
it once to the currency. Models compose: ``Package(10, GraduatedTiers(...))`` prices minutes in blocks
of 10 on a tier table of blocks; ``IncludedAllowance(500, PerUnit(...))`` bills the overage only;
``MinimumCharge(5, model)`` never charges less than 5.

Tiers cover ``(start, end]`` of the quantity: the first starts at 0, each starts where the previous
ends, only the last may be unbounded (``end=None``); a tier's flat fee is due once the quantity enters
it (exceeds its start), so a quantity of 0 costs nothing. "€1.00 a block up to 100 blocks, then €0.50" is
``[Tier(0, 100, "1.00"), Tier(100, None, "0.50")]``: blocks 1-100 at 1.00, from block 101 at 0.50.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Protocol

from domain.money import Money, PricingError, RoundingMode, as_decimal, round_minor

__all__ = [
    "FlatPrice",
    "GraduatedTiers",
    "IncludedAllowance",
    "MinimumCharge",
    "Package",
    "PerUnit",
    "PriceModel",
    "Tier",
    "VolumeTiers",
    "package",
    "price",
    "price_usage",
    "validate_tiers",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)


class PriceModel(Protocol):
    def amount(self, quantity: Decimal) -> Decimal:
        """The unrounded amount, in major units, for ``quantity`` (≥ 0)."""
        ...


def _non_negative(value: Decimal | int | str, what: str) -> Decimal:
    number = as_decimal(value)
    if number < 0:
        raise PricingError("price_negative", f"{what} must not be negative, got {number}")
    return number


@dataclass(frozen=True, slots=True, init=False)
class Tier:
    """Units in ``(start, end]`` at ``unit_price`` each, plus ``flat_fee`` once the quantity enters it."""

    start: Decimal
    end: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = _ZERO

    def __init__(
        self,
        start: Decimal | int | str,
        end: Decimal | int | str | None,
        unit_price: Decimal | int | str,
        flat_fee: Decimal | int | str = _ZERO,
    ) -> None:
        object.__setattr__(self, "start", as_decimal(start))
        object.__setattr__(self, "end", None if end is None else as_decimal(end))
        object.__setattr__(self, "unit_price", _non_negative(unit_price, "a tier's unit price"))
        object.__setattr__(self, "flat_fee", _non_negative(flat_fee, "a tier's flat fee"))


def validate_tiers(tiers: Sequence[Tier]) -> tuple[Tier, ...]:
    """The tiers, checked: from 0, ascending bounds, no gaps or overlaps, only the last unbounded."""
    if not tiers:
        raise PricingError("tiers_empty", "a tier table needs at least one tier")
    if tiers[0].start != 0:
        raise PricingError("tier_start_not_zero", f"the first tier must start at 0, not {tiers[0].start}")
    previous_end: Decimal | None = _ZERO
    for number, tier in enumerate(tiers, start=1):
        if previous_end is None:
            raise PricingError("tier_unbounded_not_last", f"tier {number - 1} is unbounded but not last")
        if tier.start > previous_end:
            raise PricingError("tier_gap", f"tier {number} starts at {tier.start}, after {previous_end}")
        if tier.start < previous_end:
            raise PricingError("tier_overlap", f"tier {number} starts at {tier.start}, before {previous_end}")
        if tier.end is not None and tier.end <= tier.start:
            raise PricingError(
                "tier_bounds_descending",
                f"tier {number} ends at {tier.end}, not after its start {tier.start}",
            )
        previous_end = tier.end
    return tuple(tiers)


def _check_within(tiers: tuple[Tier, ...], quantity: Decimal) -> None:
    last_end = tiers[-1].end
    if last_end is not None and quantity > last_end:
        raise PricingError("quantity_beyond_tiers", f"quantity {quantity} is past the last tier ({last_end})")


@dataclass(frozen=True, slots=True)
class FlatPrice:
    """The same amount whatever the quantity (a flat recurring fee)."""

    price: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "price", _non_negative(self.price, "a flat price"))

    def amount(self, quantity: Decimal) -> Decimal:
        return self.price


@dataclass(frozen=True, slots=True)
class PerUnit:
    """``quantity * unit_price``."""

    unit_price: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit_price", _non_negative(self.unit_price, "a unit price"))

    def amount(self, quantity: Decimal) -> Decimal:
        return quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class GraduatedTiers:
    """Each tier's units at that tier's price (Kill Bill ALL_TIER, Lago graduated)."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", validate_tiers(self.tiers))

    def amount(self, quantity: Decimal) -> Decimal:
        _check_within(self.tiers, quantity)
        total = _ZERO
        for tier in self.tiers:
            if quantity <= tier.start:
                break
            top = quantity if tier.end is None or quantity < tier.end else tier.end
            total += (top - tier.start) * tier.unit_price + tier.flat_fee
        return total


@dataclass(frozen=True, slots=True)
class VolumeTiers:
    """All units at the price of the tier the quantity reaches (Kill Bill TOP_TIER, Lago volume)."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", validate_tiers(self.tiers))

    def amount(self, quantity: Decimal) -> Decimal:
        _check_within(self.tiers, quantity)
        if quantity == 0:
            return _ZERO
        for tier in self.tiers:
            if tier.end is None or quantity <= tier.end:
                return quantity * tier.unit_price + tier.flat_fee
        raise AssertionError("unreachable: quantity checked against the last tier")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Package:
    """Quantity counted in blocks of ``block_size`` (a partial block counts whole), priced by ``blocks``."""

    block_size: Decimal
    blocks: PriceModel

    def __post_init__(self) -> None:
        size = as_decimal(self.block_size)
        if size <= 0:
            raise PricingError("block_size_invalid", f"block size must be positive, got {size}")
        object.__setattr__(self, "block_size", size)

    def amount(self, quantity: Decimal) -> Decimal:
        return self.blocks.amount((quantity / self.block_size).to_integral_value(rounding=ROUND_CEILING))


def package(block_size: Decimal | int | str, block_price: Decimal | int | str) -> Package:
    """``block_price`` per started block of ``block_size`` units."""
    return Package(as_decimal(block_size), PerUnit(as_decimal(block_price)))


@dataclass(frozen=True, slots=True)
class IncludedAllowance:
    """The first ``included`` units are free; the overage is priced by ``overage``."""

    included: Decimal
    overage: PriceModel

    def __post_init__(self) -> None:
        object.__setattr__(self, "included", _non_negative(self.included, "an included allowance"))

    def amount(self, quantity: Decimal) -> Decimal:
        return self.overage.amount(max(_ZERO, quantity - self.included))


@dataclass(frozen=True, slots=True)
class MinimumCharge:
    """At least ``minimum``, otherwise what ``model`` charges."""

    minimum: Decimal
    model: PriceModel = field(default_factory=lambda: FlatPrice(_ZERO))

    def __post_init__(self) -> None:
        object.__setattr__(self, "minimum", _non_negative(self.minimum, "a minimum charge"))

    def amount(self, quantity: Decimal) -> Decimal:
        return max(self.minimum, self.model.amount(quantity))


def price(
    model: PriceModel,
    quantity: Decimal | int | str,
    currency: str,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> Money:
    """The charge for ``quantity`` under ``model``, rounded once to ``currency``."""
    number = as_decimal(quantity)
    if number < 0:
        raise PricingError("quantity_negative", f"quantity must not be negative, got {number}")
    return Money(round_minor(model.amount(number), currency, mode), currency)


def price_usage(
    model: PriceModel,
    quantities: Iterable[Decimal | int | str],
    currency: str,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> Money:
    """The charge for a period's usage records: quantities summed first, priced and rounded once."""
    total = _ZERO
    for quantity in quantities:
        number = as_decimal(quantity)
        if number < 0:
            raise PricingError("quantity_negative", f"a usage quantity must not be negative, got {number}")
        total += number
    return price(model, total, currency, mode)
