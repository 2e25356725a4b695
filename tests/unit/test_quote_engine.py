"""Properties of the quote engine over every date, bill day, currency and order of items."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog import PlanSpec
from domain.currency import MINOR_UNITS
from domain.quote import QuoteContext, QuoteItem, quote
from domain.tax import TaxRate

CURRENCIES = ["EUR", "JPY", "KWD", "USD"]
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


def plan(price: Decimal, currency: str, term: str = "in_advance", code: str = "p") -> PlanSpec:
    return PlanSpec.model_validate(
        {
            "code": code,
            "name": code,
            "product_code": "x",
            "billing_term": term,
            "phases": [{"kind": "evergreen", "prices": {currency: str(price)}}],
        }
    )


@st.composite
def priced(draw: st.DrawFn) -> tuple[str, Decimal]:
    currency = draw(st.sampled_from(CURRENCIES))
    minor = draw(st.integers(min_value=1, max_value=10_000_000))
    return currency, Decimal(minor).scaleb(-MINOR_UNITS[currency])


@settings(max_examples=150, deadline=None)
@given(priced(), dates, st.integers(min_value=1, max_value=31), st.integers(min_value=1, max_value=40))
def test_parts_of_a_period_add_up_to_its_price(
    money: tuple[str, Decimal], start: date, bill_day: int, split_after: int
) -> None:
    currency, price = money
    ctx = QuoteContext(currency, bill_day=bill_day)
    whole = quote([QuoteItem(plan(price, currency, "in_arrears"), start)], ctx).lines[0]
    assert whole.period is not None
    period = whole.period
    full = quote([QuoteItem(plan(price, currency, "in_arrears"), period.start)], ctx).lines[0]
    assert full.amount.amount_minor == int(price.scaleb(MINOR_UNITS[currency]))
    cut = period.start + timedelta(days=1 + split_after % max(1, period.days - 1))
    if cut >= period.end:
        return
    first = quote([QuoteItem(plan(price, currency, "in_arrears"), period.start, stop=cut)], ctx).lines[0]
    second = quote([QuoteItem(plan(price, currency, "in_arrears"), cut)], ctx).lines[0]
    assert abs(first.amount.amount_minor + second.amount.amount_minor - full.amount.amount_minor) <= 1


@settings(max_examples=100, deadline=None)
@given(priced(), dates, st.integers(min_value=1, max_value=31))
def test_an_immediate_stop_credits_exactly_the_unused_days(
    money: tuple[str, Decimal], start: date, bill_day: int
) -> None:
    currency, price = money
    ctx = QuoteContext(currency, bill_day=bill_day)
    first = quote([QuoteItem(plan(price, currency), start)], ctx).lines[0]
    assert first.period is not None and first.service_start is not None
    stop = first.service_start + timedelta(days=1)
    if stop >= first.period.end:
        return
    lines = quote([QuoteItem(plan(price, currency), start, stop=stop)], ctx).lines
    charge, credit = lines
    assert charge.amount == first.amount and credit.amount.amount_minor <= 0
    kept = quote([QuoteItem(plan(price, currency, "in_arrears"), start, stop=stop)], ctx).lines[0]
    assert abs(charge.amount.amount_minor + credit.amount.amount_minor - kept.amount.amount_minor) <= 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(min_value=1, max_value=99_999), dates), min_size=2, max_size=6),
    st.randoms(use_true_random=False),
)
def test_totals_do_not_depend_on_the_order_of_items(entries: list[tuple[int, date]], rnd: object) -> None:
    ctx = QuoteContext("EUR", tax_rates={"standard": TaxRate("ES-standard", Decimal("21"))})
    items = [
        QuoteItem(plan(Decimal(c).scaleb(-2), "EUR", code=f"p{i}"), d) for i, (c, d) in enumerate(entries)
    ]
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = quote(items, ctx), quote(shuffled, ctx)
    assert (a.tax.net, a.tax.tax, a.tax.gross) == (b.tax.net, b.tax.tax, b.tax.gross)
    assert sorted(line.amount.amount_minor for line in a.lines) == sorted(
        line.amount.amount_minor for line in b.lines
    )
