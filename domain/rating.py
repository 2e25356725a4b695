"""Telephony rating: a call's duration through rate groups, rounded once at the end.

A tariff is a connect fee plus rate groups in order of their start offset. Each group charges
``rate`` per ``rate_unit`` seconds, consumed in ``increment``-second steps (a started increment is
charged whole), from its start offset until the next group starts. Time consumed by an increment
that reaches past a group's end is not charged again by the next group.

The cost is summed exactly and rounded ONCE to ``precision`` decimals with ``mode`` (CGRateS'
tutorial: up, 4 decimals). The CGRateS case: 0.40 connect + first 60 s at 0.20/60 s in one 60 s
increment + 0.10/60 s in 1 s increments; 130 s = 0.40 + 0.20 + 70 * 0.10/60 = 0.71666... -> 0.7167.
CGRateS rounds every increment and answers 0.7169; we do not.

A ``minimum_duration`` charges an answered call (more than 0 s) at least that many seconds. Rate
decks by destination, time bands and a fast integer engine live in :mod:`domain.tariffs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from itertools import pairwise
from math import lcm

from domain.money import PricingError, RoundingMode, as_decimal, quantize

__all__ = ["RateGroup", "Tariff", "rate_call"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RateGroup:
    """From ``start`` seconds into the call: ``rate`` per ``rate_unit`` s, charged per ``increment`` s."""

    start: int
    rate: Decimal
    rate_unit: int
    increment: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", as_decimal(self.rate))
        if self.start < 0:
            raise PricingError("rate_group_invalid", f"a rate group cannot start at {self.start} s")
        if self.rate < 0:
            raise PricingError("price_negative", f"a rate must not be negative, got {self.rate}")
        if self.rate_unit <= 0 or self.increment <= 0:
            raise PricingError("rate_group_invalid", "rate unit and increment must be positive seconds")


@dataclass(frozen=True, slots=True)
class Tariff:
    """A connect fee, rate groups (the first starting at 0 s, ascending), precision and rounding."""

    connect_fee: Decimal
    groups: tuple[RateGroup, ...]
    precision: int = 4
    mode: RoundingMode = RoundingMode.UP
    minimum_duration: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "connect_fee", as_decimal(self.connect_fee))
        if self.minimum_duration < 0:
            raise PricingError("minimum_duration_invalid", "a minimum duration cannot be negative")
        object.__setattr__(self, "groups", _validated(self.groups))
        if self.connect_fee < 0:
            raise PricingError(
                "price_negative", f"a connect fee must not be negative, got {self.connect_fee}"
            )
        if not 0 <= self.precision <= 18:
            raise PricingError("precision_invalid", f"precision must be 0-18 decimals, got {self.precision}")


def _validated(groups: Sequence[RateGroup]) -> tuple[RateGroup, ...]:
    if not groups:
        raise PricingError("rate_groups_empty", "a tariff needs at least one rate group")
    if groups[0].start != 0:
        raise PricingError(
            "rate_group_invalid", f"the first rate group must start at 0 s, not {groups[0].start}"
        )
    for before, after in pairwise(groups):
        if after.start <= before.start:
            raise PricingError(
                "rate_groups_unordered", f"rate group at {after.start} s does not follow {before.start} s"
            )
    return tuple(groups)


def rate_call(tariff: Tariff, duration: int | Decimal) -> Decimal:
    """The cost of a call of ``duration`` seconds, rounded once to the tariff's precision."""
    seconds = as_decimal(duration)
    if seconds < 0:
        raise PricingError("duration_negative", f"a call cannot last {seconds} s")
    if 0 < seconds < tariff.minimum_duration:
        seconds = Decimal(tariff.minimum_duration)
    # Every group's cost is scaled to a common denominator (the rate units' LCM) so the sum is exact
    # and divided once: no intermediate rounding can push the result across a rounding boundary.
    denominator = lcm(*(group.rate_unit for group in tariff.groups))
    numerator = tariff.connect_fee * denominator + _scaled_usage(tariff.groups, seconds, denominator)
    return quantize(numerator / denominator, tariff.precision, tariff.mode)


def _scaled_usage(groups: tuple[RateGroup, ...], seconds: Decimal, denominator: int) -> Decimal:
    """Cost of ``seconds`` through the groups, times ``denominator``; increments are charged whole."""
    cost = _ZERO
    elapsed = _ZERO
    for index, group in enumerate(groups):
        if elapsed >= seconds:
            break
        group_end = groups[index + 1].start if index + 1 < len(groups) else None
        if group_end is not None and elapsed >= group_end:
            continue
        until = seconds if group_end is None else min(seconds, Decimal(group_end))
        steps = ((until - elapsed) / group.increment).to_integral_value(rounding=ROUND_CEILING)
        charged = steps * group.increment
        cost += charged * group.rate * (denominator // group.rate_unit)
        elapsed += charged
    return cost
