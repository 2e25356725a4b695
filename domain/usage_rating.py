"""Rating one usage event against a plan's usage charge: allowance first, then the price, rounded once.

Quantities travel in base units: seconds (voice), bytes (data), units (video views). A charge's
``unit`` converts them (``minute`` = 60 s; ``KB``/``MB``/``GB``/``TB`` are binary, 1 MB = 1,048,576
bytes; anything else counts one base unit each). The plan's ``included`` allowance is a pool per
period: per service, or per subscription when the charge is ``shared`` (the pool then holds the sum of
the services' allowances). An event draws on its pool first; what is left over is charged:

* ``call`` charges: per call through a tariff (the plan's, or the rate deck's for the destination);
  a call partly paid by the allowance costs ``T(duration) - T(covered)``, so the connect fee is paid
  only by calls the allowance does not touch, and a fully covered call costs 0.
* ``per_unit``/``graduated``/``volume`` charges: the event's overage is priced as the increase of the
  period's total, ``M(before + overage) - M(before)``, so tiers apply to the period's cumulative
  volume and the increments add up to the period total exactly. (Volume tiers may give a negative
  increment when the period total reaches a cheaper tier.)

Each event's amount is rounded ONCE (:func:`domain.money.quantize`) at the rating precision; the
invoice rounds the period's sum to the currency once. A plan's per-period ``minimum`` is the
billing cycle's business, not the rating's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.catalog import UsageCharge
from domain.money import PricingError, RoundingMode, quantize
from domain.tariffs import CompiledTariff
from domain.usage_pricing import GraduatedTiers, Package, PerUnit, PriceModel, Tier, VolumeTiers

__all__ = [
    "DEFAULT_PRECISION",
    "Pool",
    "RatedAmount",
    "base_units_per",
    "chargeable_model",
    "is_shared",
    "rate_call_event",
    "rate_quantity_event",
]

DEFAULT_PRECISION = 4
DEFAULT_MODE = RoundingMode.HALF_UP
_UNIT_SIZES: dict[str, int] = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "hour": 3600,
    "hours": 3600,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "kb": 1024,
    "kib": 1024,
    "mb": 1024**2,
    "mib": 1024**2,
    "gb": 1024**3,
    "gib": 1024**3,
    "tb": 1024**4,
    "tib": 1024**4,
}


def base_units_per(unit: str) -> int:
    """How many base units (seconds, bytes, views) one unit of a charge holds."""
    return _UNIT_SIZES.get(unit.strip().lower(), 1)


def is_shared(charge: UsageCharge) -> bool:
    """Whether the plan shares this allowance across the services of a subscription."""
    return bool(getattr(charge, "shared", False))


@dataclass(slots=True)
class Pool:
    """One allowance pool in one period: what it includes, what was used, what was charged (base units)."""

    included: int = 0
    used: int = 0
    charged: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.included - self.used)

    def draw(self, quantity: int) -> tuple[int, int]:
        """Take ``quantity`` from the pool: (covered by the allowance, overage to charge)."""
        if quantity < 0:
            raise PricingError("quantity_negative", f"usage quantity must not be negative, got {quantity}")
        covered = min(quantity, self.remaining)
        overage = quantity - covered
        self.used += covered
        self.charged += overage
        return covered, overage


@dataclass(frozen=True, slots=True)
class RatedAmount:
    amount: Decimal
    covered: int
    charged: int


def chargeable_model(charge: UsageCharge, currency: str) -> PriceModel:
    """The overage price model of a non-call charge (allowance and period minimum handled elsewhere)."""
    price = charge.prices.get(currency)
    if price is None:
        raise PricingError("currency_not_priced", f"usage {charge.metric} is not priced in {currency}")
    model: PriceModel
    if charge.model == "per_unit":
        model = PerUnit(price.unit_price or Decimal(0))
    elif charge.model in ("graduated", "volume"):
        tiers, start = [], Decimal(0)
        for tier in price.tiers or []:
            tiers.append(Tier(start, tier.up_to, tier.unit_price, tier.flat_fee))
            start = tier.up_to if tier.up_to is not None else start
        model = GraduatedTiers(tuple(tiers)) if charge.model == "graduated" else VolumeTiers(tuple(tiers))
    else:
        raise PricingError("usage_model_invalid", f"usage {charge.metric} is rated per call")
    return Package(charge.block_size, model) if charge.block_size else model


def rate_call_event(tariff: CompiledTariff, seconds: int, pool: Pool) -> RatedAmount:
    """A call: the allowance pays its first seconds, the tariff the rest (rounded once)."""
    covered, overage = pool.draw(seconds)
    return RatedAmount(tariff.cost_after(covered, seconds), covered, overage)


def rate_quantity_event(
    model: PriceModel,
    quantity: int,
    unit_size: int,
    pool: Pool,
    precision: int = DEFAULT_PRECISION,
    mode: RoundingMode = DEFAULT_MODE,
) -> RatedAmount:
    """Data or units: the overage priced as the increase of the period total (rounded once)."""
    before = pool.charged
    covered, overage = pool.draw(quantity)
    if overage == 0:
        return RatedAmount(quantize(Decimal(0), precision, mode), covered, 0)
    size = Decimal(unit_size)
    exact = model.amount(Decimal(before + overage) / size) - model.amount(Decimal(before) / size)
    return RatedAmount(quantize(exact, precision, mode), covered, overage)


def max_quantity(model: PriceModel, unit_size: int, pool: Pool, budget: Decimal, cap: int) -> int:
    """The largest quantity (≤ ``cap`` base units) the pool plus ``budget`` pays for (not drawn)."""
    free = min(pool.remaining, cap)
    if budget <= 0:
        return free
    size = Decimal(unit_size)
    start = model.amount(Decimal(pool.charged) / size)

    def affordable(extra: int) -> bool:
        return model.amount(Decimal(pool.charged + extra) / size) - start <= budget

    low, high = 0, cap - free
    if affordable(high):
        return cap
    while high - low > 1:
        middle = (low + high) // 2
        if affordable(middle):
            low = middle
        else:
            high = middle
    return free + low
