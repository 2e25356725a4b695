"""A bundled service's charge for the rest of a period, net of the bundle discount of the period's net
(with the credit of the same period), rounded once per tax category as the quote does."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.invoice_extras import charge_net_of_discount, credit_net_of_discount
from domain.money import Money
from domain.quote import QuoteContext
from domain.subscriptions import ChargeLine
from runtime.demo_catalogue import PLANS

FIBRE = next(p for p in PLANS if p.code == "demo-fibre-600")
CTX = QuoteContext("EUR", bill_day=1)
TEN = Decimal(10)


def line(kind: str, minor: int) -> ChargeLine:
    return ChargeLine(kind, kind, Money(minor, "EUR"), 1, Decimal("30.00"), "standard")


def test_a_charge_alone_is_discounted_as_the_quote_rounds_it() -> None:
    charge = charge_net_of_discount(
        line("proration_charge", 1100), [], FIBRE, date(2026, 4, 20), "b", TEN, CTX
    )
    assert charge.amount == Money(990, "EUR")


def test_the_credit_and_charge_of_a_period_are_discounted_on_their_net_without_a_cent_of_drift() -> None:
    credit, charge = line("proration_credit", -1066), line("proration_charge", 1014)
    started = date(2026, 3, 1)
    net_credit = credit_net_of_discount(credit, FIBRE, started, "b", TEN, CTX)
    net_charge = charge_net_of_discount(charge, [credit], FIBRE, started, "b", TEN, CTX)
    assert net_credit.amount == Money(-1066 + 107, "EUR")  # -106.6 -> -107 off the credit
    # the period's net -0.52 is discounted 0.052 -> 0.05; each alone would give 1.07 - 1.01 = 0.06
    assert net_charge.amount == Money(1014 - 102, "EUR")
    assert net_credit.amount.amount_minor + net_charge.amount.amount_minor == -52 + 5
