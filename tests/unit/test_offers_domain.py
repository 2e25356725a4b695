"""Offers' pure rules: eligibility (dates, status, channels, segments, grants), caps, stacking, and the
discount a period's charge gets (rounded once, never more than the charge), on invoices and quotes."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.invoicing import DraftLine
from domain.money import Money, RoundingMode
from domain.offers import (
    ActiveDiscount,
    Caps,
    Eligibility,
    StackRule,
    Terms,
    cap_reached,
    discount_draft_lines,
    discount_minor,
    discount_quote_lines,
    estimated_cost,
    ineligibility,
    stacks_with,
)
from domain.periods import Period
from domain.quote import QuoteLine

RULE = Eligibility("active", date(2026, 3, 1), date(2026, 3, 31), ("web",), ("seg_a", "seg_b"))
PCT20 = Terms("discount", "EUR", "tv", percent=Decimal(20), periods=3)


def test_eligibility_reasons() -> None:
    day = date(2026, 3, 10)
    assert ineligibility(RULE, day, "web", {"seg_b"}, False) is None
    assert ineligibility(RULE, day, "web", {"seg_x"}, False) == "account_not_eligible"
    assert ineligibility(RULE, day, "web", set(), True) is None  # granted
    assert ineligibility(RULE, day, "store", {"seg_a"}, False) == "channel_not_eligible"
    assert ineligibility(RULE, date(2026, 2, 28), "web", {"seg_a"}, False) == "offer_not_started"
    assert ineligibility(RULE, date(2026, 3, 31), "web", {"seg_a"}, False) is None  # last day
    assert ineligibility(RULE, date(2026, 4, 1), "web", {"seg_a"}, False) == "offer_ended"
    paused = Eligibility("paused", date(2026, 3, 1), None, (), ())
    assert ineligibility(paused, day, "care", set(), False) == "offer_paused"
    anyone = Eligibility("active", date(2026, 3, 1), None, (), ())
    assert ineligibility(anyone, day, "care", set(), False) is None
    only_granted = Eligibility("active", date(2026, 3, 1), None, (), (), grant_only=True)
    assert ineligibility(only_granted, day, "care", set(), False) == "account_not_eligible"
    assert ineligibility(only_granted, day, "care", set(), True) is None


def test_caps() -> None:
    assert cap_reached(Caps(3, 1, 2, 0)) is None
    assert cap_reached(Caps(3, 1, 3, 0)) == "offer_cap_reached"
    assert cap_reached(Caps(None, 2, 50, 2)) == "account_cap_reached"
    assert cap_reached(Caps(None, None, 10**6, 10**6)) is None


def test_stacking() -> None:
    exclusive = StackRule("off_x", "exclusive", None)
    tv = StackRule("off_tv", "stackable", "tv")
    tv2 = StackRule("off_tv2", "stackable", "tv")
    net = StackRule("off_net", "stackable", "net")
    loose = StackRule("off_any", "stackable", None)
    assert stacks_with(tv, []) is None
    assert stacks_with(exclusive, []) is None
    assert stacks_with(exclusive, [loose]) == loose
    assert stacks_with(loose, [exclusive]) == exclusive
    assert stacks_with(tv, [tv2]) is None
    assert stacks_with(tv, [tv2, net]) == net
    assert stacks_with(loose, [StackRule("off_any2", "stackable", None)]) is None


def test_discount_arithmetic() -> None:
    assert discount_minor(1500, PCT20) == 300
    assert discount_minor(1234, PCT20) == 247  # 2.468 -> 2.47 half up
    assert discount_minor(1234, PCT20, RoundingMode.HALF_EVEN) == 247
    assert discount_minor(1, Terms("discount", "EUR", "tv", percent=Decimal(50), periods=1)) == 1  # 0.005 up
    assert discount_minor(-500, PCT20) == 0  # never on a credit
    yen = Terms("discount", "JPY", "tv", percent=Decimal("12.5"), periods=1)
    assert discount_minor(1000, yen) == 125
    fixed = Terms("discount", "EUR", "tv", amount_minor=800, periods=2)
    assert (discount_minor(1500, fixed), discount_minor(500, fixed)) == (800, 500)
    assert estimated_cost(PCT20, 1500) == 900
    assert estimated_cost(Terms("wallet_credit", "EUR", value_minor=1000), None) == 1000


@given(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=Decimal("0.0001"), max_value=100, places=4),
)
def test_a_discount_is_never_more_than_the_charge(charge: int, percent: Decimal) -> None:
    off = discount_minor(charge, Terms("discount", "EUR", "p", percent=percent, periods=1))
    assert 0 <= off <= charge


def _line(start: date, end: date, amount: int, plan: str = "tv", service: str = "svc_tv") -> DraftLine:
    return DraftLine(
        "sub_1", service, "recurring", f"{plan} {start}", Period(start, end), start, end, Decimal(1),
        Decimal(amount) / 100, Money(amount, "EUR"), "standard", "video",
    )  # fmt: skip


MONTHS = [date(2026, m, 1) for m in range(1, 8)]


def test_three_periods_then_none_and_never_twice() -> None:
    lines = [_line(a, b, 1500) for a, b in itertools.pairwise(MONTHS)]
    lines.append(_line(MONTHS[0], MONTHS[1], 3000, plan="net", service="svc_net"))
    plans = {"svc_tv": "tv", "svc_net": "net"}
    offer = ActiveDiscount("ord_1", "spring20", PCT20, date(2026, 1, 15))
    out = discount_draft_lines(offer, lines, plans)
    assert [(x.start, x.amount.amount_minor, x.kind) for x in out] == [
        (date(2026, 1, 1), -300, "offer_discount"),
        (date(2026, 2, 1), -300, "offer_discount"),
        (date(2026, 3, 1), -300, "offer_discount"),
    ]
    assert out[0].description == "offer spring20: 20% off tv (2026-01-01 to 2026-02-01)"
    billed = ActiveDiscount("ord_1", "spring20", PCT20, date(2026, 1, 15), frozenset(MONTHS[:2]))
    assert [x.start for x in discount_draft_lines(billed, lines, plans)] == [date(2026, 3, 1)]
    done = ActiveDiscount("ord_1", "spring20", PCT20, date(2026, 1, 15), frozenset(MONTHS[:3]))
    assert discount_draft_lines(done, lines, plans) == []
    late = ActiveDiscount("ord_1", "spring20", PCT20, date(2026, 2, 1))  # January ended before it
    assert discount_draft_lines(late, lines, plans)[0].start == date(2026, 2, 1)


def test_quote_lines() -> None:
    price = Money(1500, "EUR")
    lines = [
        QuoteLine("recurring", "tv", "tv", Decimal(1), Decimal(15), price, "standard", a, b, Period(a, b))
        for a, b in itertools.pairwise(MONTHS[:5])
    ]
    out = discount_quote_lines([ActiveDiscount("off_1", "spring20", PCT20, date.min)], lines)
    assert [(x.period.start if x.period else None, x.amount.amount_minor) for x in out] == [
        (date(2026, 1, 1), -300),
        (date(2026, 2, 1), -300),
        (date(2026, 3, 1), -300),
    ]


def test_stacked_offers_never_take_off_more_than_the_charge() -> None:
    lines = [_line(a, b, 1500) for a, b in itertools.pairwise(MONTHS[:5])]
    plans = {"svc_tv": "tv"}
    pct60 = ActiveDiscount(
        "ord_1", "sixty", Terms("discount", "EUR", "tv", percent=Decimal(60), periods=2), date.min
    )
    pct50 = ActiveDiscount(
        "ord_2", "fifty", Terms("discount", "EUR", "tv", percent=Decimal(50), periods=2), date.min
    )
    alone = [x.amount.amount_minor for o in (pct60, pct50) for x in discount_draft_lines(o, lines, plans)]
    assert alone == [-900, -900, -750, -750]  # each on its own: the whole charge is its base
    taken: dict[tuple[date, str], int] = {}
    first = discount_draft_lines(pct60, lines, plans, taken)
    second = discount_draft_lines(pct50, lines, plans, taken)
    assert [(x.start, x.amount.amount_minor) for x in first] == [(MONTHS[0], -900), (MONTHS[1], -900)]
    assert [(x.start, x.amount.amount_minor) for x in second] == [(MONTHS[0], -600), (MONTHS[1], -600)]
    free = ActiveDiscount(
        "ord_3", "free", Terms("discount", "EUR", "tv", percent=Decimal(100), periods=3), date.min
    )
    pct10 = ActiveDiscount(
        "ord_4", "ten", Terms("discount", "EUR", "tv", percent=Decimal(10), periods=2), date.min
    )
    taken = {}
    assert [x.amount.amount_minor for x in discount_draft_lines(free, lines, plans, taken)] == [-1500] * 3
    # nothing is left of the first three months: the 10 % takes its two periods from April on
    assert [(x.start, x.amount.amount_minor) for x in discount_draft_lines(pct10, lines, plans, taken)] == [
        (MONTHS[3], -150)
    ]
    price = Money(1500, "EUR")
    quoted = [
        QuoteLine("recurring", "tv", "tv", Decimal(1), Decimal(15), price, "standard", a, b, Period(a, b))
        for a, b in itertools.pairwise(MONTHS[:5])
    ]
    out = discount_quote_lines([pct60, pct50], quoted)
    assert sorted((x.period.start if x.period else None, x.amount.amount_minor) for x in out) == [
        (MONTHS[0], -900),
        (MONTHS[0], -600),
        (MONTHS[1], -900),
        (MONTHS[1], -600),
    ]
    assert [x.amount.amount_minor for x in discount_quote_lines([free, pct10], quoted)] == [-1500] * 3 + [
        -150
    ]
