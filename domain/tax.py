"""Tax per rate on the invoice total of the lines that carry the rate, rounded once.

Tax-exclusive prices: tax = round(Σ net * rate). Tax-inclusive prices: the stated amounts are gross
and tax = round(Σ gross * rate / (100 + rate)); net = gross - tax. Each rate's tax is rounded once on
its total, then spread over its lines (largest remainder) so the line taxes add up to it exactly.

Exempt and B2B reverse-charge accounts pay no tax; each rate reports 0 with the reason code. An
inclusive price charged to such an account is reduced by the tax it contains (the account pays the
net), as a tax-exclusive price would be charged net.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.currency import minor_units
from domain.money import Money, PricingError, RoundingMode, allocate, as_decimal, round_minor

__all__ = ["LineTax", "RateTotal", "TaxRate", "TaxResult", "TaxStatus", "TaxableLine", "compute_tax"]

_HUNDRED = Decimal(100)


class TaxStatus(StrEnum):
    TAXABLE = "taxable"
    EXEMPT = "exempt"
    REVERSE_CHARGE = "reverse_charge"  # B2B: the customer self-assesses the tax


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A named rate in percent, 0-100 inclusive (e.g. ``TaxRate("FR-standard", Decimal("20"))``)."""

    code: str
    percent: Decimal

    def __post_init__(self) -> None:
        percent = as_decimal(self.percent)
        if not 0 <= percent <= _HUNDRED:
            raise PricingError("tax_rate_out_of_range", f"tax rate {percent}% is outside [0, 100]%")
        object.__setattr__(self, "percent", percent)


@dataclass(frozen=True, slots=True)
class TaxableLine:
    """A charge line's amount as priced (net when exclusive, gross when inclusive) and its rate."""

    amount: Money
    rate: TaxRate


@dataclass(frozen=True, slots=True)
class LineTax:
    net: Money
    tax: Money
    gross: Money


@dataclass(frozen=True, slots=True)
class RateTotal:
    """One rate's totals; ``reason`` says why the tax is 0 (``exempt``, ``reverse_charge``)."""

    rate: TaxRate
    net: Money
    tax: Money
    gross: Money
    reason: str | None


@dataclass(frozen=True, slots=True)
class TaxResult:
    """Per-rate breakdown (sorted by rate code), per-line taxes (input order) and invoice totals."""

    by_rate: tuple[RateTotal, ...]
    lines: tuple[LineTax, ...]
    net: Money
    tax: Money
    gross: Money
    reason: str | None


def compute_tax(
    lines: Sequence[TaxableLine],
    currency: str,
    *,
    inclusive: bool = False,
    status: TaxStatus = TaxStatus.TAXABLE,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> TaxResult:
    """Tax the lines of one invoice in ``currency``."""
    groups: dict[TaxRate, list[int]] = {}
    same: dict[int, list[int]] = {}  # by the rate object's id: most lines share one TaxRate object
    for index, line in enumerate(lines):
        if line.amount.currency != currency:
            raise PricingError("currency_mismatch", f"a {line.amount.currency} line on a {currency} invoice")
        indexes = same.get(id(line.rate))
        if indexes is None:
            indexes = same[id(line.rate)] = groups.setdefault(line.rate, [])
        indexes.append(index)
    reason = None if status is TaxStatus.TAXABLE else status.value
    line_taxes: list[LineTax | None] = [None] * len(lines)
    by_rate = []
    ordered = sorted(groups, key=_rate_order) if len(groups) > 1 else list(groups)
    for rate in ordered:
        indexes = groups[rate]
        amounts = [lines[i].amount.amount_minor for i in indexes]
        total, per_line = _rate_tax(rate, amounts, currency, inclusive, status, mode)
        by_rate.append(total)
        for i, line_tax in zip(indexes, per_line, strict=True):
            line_taxes[i] = line_tax
    net = sum(r.net.amount_minor for r in by_rate)
    tax = sum(r.tax.amount_minor for r in by_rate)
    return TaxResult(
        by_rate=tuple(by_rate),
        lines=tuple(lt for lt in line_taxes if lt is not None),
        net=Money(net, currency),
        tax=Money(tax, currency),
        gross=Money(net + tax, currency),
        reason=reason,
    )


def _rate_order(rate: TaxRate) -> tuple[str, Decimal]:
    return rate.code, rate.percent


def _rate_tax(
    rate: TaxRate,
    amounts: list[int],
    currency: str,
    inclusive: bool,
    status: TaxStatus,
    mode: RoundingMode,
) -> tuple[RateTotal, list[LineTax]]:
    """One rate's total and its lines: tax computed on the rate's total, rounded once, then spread."""
    percent = rate.percent
    if percent:
        divisor = _HUNDRED + percent if inclusive else _HUNDRED
        # One exact product and one division per value, so an exact tie is never blurred by a factor.
        exact = [Decimal(amount) * percent / divisor for amount in amounts]  # in minor units
        total_exact = Decimal(sum(amounts)) * percent / divisor
        tax = round_minor(total_exact.scaleb(-minor_units(currency)), currency, mode)
        shares = allocate(tax, exact)
    else:  # a 0% rate: every exact share is 0, so is the tax (what the lines above give, without them)
        tax, shares = 0, [0] * len(amounts)
    nets = [a - s for a, s in zip(amounts, shares, strict=True)] if inclusive else amounts
    net = sum(nets)
    if status is not TaxStatus.TAXABLE:
        zero = Money(0, currency)
        per_line = []
        for n in nets:
            money = Money(n, currency)
            per_line.append(LineTax(money, zero, money))
        return RateTotal(rate, Money(net, currency), zero, Money(net, currency), status.value), per_line
    per_line = [
        LineTax(Money(n, currency), Money(s, currency), Money(n + s, currency))
        for n, s in zip(nets, shares, strict=True)
    ]
    total = RateTotal(rate, Money(net, currency), Money(tax, currency), Money(net + tax, currency), None)
    return total, per_line
