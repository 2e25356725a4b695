"""domain.invoice_extras: device rentals and bundle discounts of bill runs, priced as quoted, each
billed once per period (also across a plan change between renting plans), ended by the device's return."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from domain.catalog import PlanSpec
from domain.invoice_extras import DISCOUNT, RENTAL, ChargeSpan, Extras, extras_due
from domain.invoicing import ServiceSpan, SubscriptionToBill, due
from domain.quote import QuoteContext, QuoteItem, item_lines

START = date(2026, 3, 10)
CTX = QuoteContext("EUR", bill_day=1)


def renting(code: str, price: str, rent: str) -> PlanSpec:
    return PlanSpec.model_validate(
        {
            "code": code,
            "name": code,
            "product_code": "net",
            "phases": [{"kind": "evergreen", "prices": {"EUR": price}}],
            "device": {"product_code": "router", "mode": "rent", "prices": {"EUR": rent}},
        }
    )


FIBRE = renting("fibre", "30.00", "3.00")
FASTER = renting("faster", "40.00", "3.00")
Billed = tuple[str, str | None, date | None, date | None, int]


def runs(sub: SubscriptionToBill, extras: Extras, days: list[date]) -> list[Billed]:
    """Bill run after bill run, each remembering what the previous ones billed: the extra lines."""
    out: list[Billed] = []
    for day in days:
        work = due(sub, day, CTX)
        more = extras_due(sub, extras, work.lines, day, CTX)
        out += [(ln.kind, ln.service_id, ln.start, ln.end, ln.amount.amount_minor) for ln in more.lines]
        assert len({(b.charge, b.key, b.start) for b in more.billed}) == len(more.billed)  # one row each
        extras = replace(extras, billed=extras.billed | frozenset(more.billed))
    return out


def sub_of(*services: ServiceSpan, end: date | None = None) -> SubscriptionToBill:
    return SubscriptionToBill("sub", "EUR", 1, START, end, list(services))


def test_a_rental_is_prorated_then_billed_once_per_period() -> None:
    sub = sub_of(ServiceSpan("svc", "line", FIBRE, "broadband", START, None, 1))
    days = [START, date(2026, 4, 1), date(2026, 4, 1), date(2026, 4, 15)]
    assert runs(sub, Extras(), days) == [
        (RENTAL, "svc", START, date(2026, 4, 1), 213),  # 3.00 * 22/31 = 2.129
        (RENTAL, "svc", date(2026, 4, 1), date(2026, 5, 1), 300),
    ]


def test_a_rental_ends_with_the_return_of_the_device_or_the_subscription() -> None:
    sub = sub_of(ServiceSpan("svc", "line", FIBRE, "broadband", START, None, 1))
    returned = Extras(returned={"line": date(2026, 4, 16)})
    assert runs(sub, returned, [date(2026, 4, 1), date(2026, 5, 1)]) == [
        (RENTAL, "svc", START, date(2026, 4, 1), 213),
        (RENTAL, "svc", date(2026, 4, 1), date(2026, 4, 16), 150),  # returned before April was billed
    ]
    ended = sub_of(ServiceSpan("svc", "line", FIBRE, "broadband", START, None, 1), end=date(2026, 4, 1))
    assert runs(ended, Extras(), [date(2026, 4, 1)]) == [(RENTAL, "svc", START, date(2026, 4, 1), 213)]


def test_a_plan_change_between_renting_plans_bills_the_line_once_per_period() -> None:
    change = date(2026, 4, 16)
    old = ServiceSpan("svc_old", "line", FIBRE, "broadband", START, change, 1, replaced_by="svc_new")
    new = ServiceSpan("svc_new", "line", FASTER, "broadband", change, None, 1)
    # the change after April was billed in full: the new plan's rental starts with May
    first = runs(sub_of(replace(old, ended_on=None, replaced_by=None)), Extras(), [date(2026, 4, 1)])
    april = frozenset({ChargeSpan(RENTAL, "line", date(2026, 3, 1), date(2026, 4, 1)),
                       ChargeSpan(RENTAL, "line", date(2026, 4, 1), date(2026, 5, 1))})  # fmt: skip
    then = runs(sub_of(old, new), Extras(billed=april), [date(2026, 5, 1)])
    assert first + then == [
        (RENTAL, "svc_old", START, date(2026, 4, 1), 213),
        (RENTAL, "svc_old", date(2026, 4, 1), date(2026, 5, 1), 300),
        (RENTAL, "svc_new", date(2026, 5, 1), date(2026, 6, 1), 300),
    ]
    # the change before April was billed: each plan its days of April (15 + 15 of 30), one guard row
    assert runs(sub_of(old, new), Extras(), [date(2026, 4, 1), date(2026, 5, 1)]) == [
        (RENTAL, "svc_old", START, date(2026, 4, 1), 213),
        (RENTAL, "svc_old", date(2026, 4, 1), change, 150),
        (RENTAL, "svc_new", change, date(2026, 5, 1), 150),
        (RENTAL, "svc_new", date(2026, 5, 1), date(2026, 6, 1), 300),
    ]


def test_a_bundle_discount_is_the_quotes_and_billed_once() -> None:
    tv = PlanSpec.model_validate(
        {
            "code": "tv",
            "name": "tv",
            "product_code": "tv",
            "phases": [{"kind": "evergreen", "prices": {"EUR": "15.55"}}],
        }
    )
    sub = sub_of(ServiceSpan("svc", "line", tv, "video", START, None, 1))
    extras = Extras(discounts={"svc": ("home", Decimal("12.5"))})
    billed = runs(sub, extras, [START, date(2026, 4, 1), date(2026, 4, 1)])
    # 15.55 * 22/31 = 11.04 (11.035...), 12.5% = 1.38; 15.55 * 12.5% = 1.94375 -> 1.94
    assert billed == [
        (DISCOUNT, "svc", START, date(2026, 4, 1), -138),
        (DISCOUNT, "svc", date(2026, 4, 1), date(2026, 5, 1), -194),
    ]
    quoted = item_lines(
        QuoteItem(tv, date(2026, 4, 1), bundle_code="home", bundle_discount=Decimal("12.5")), CTX
    )
    assert [ln.amount.amount_minor for ln in quoted if ln.kind == "discount"] == [-194]
    done = Extras(
        billed=frozenset({ChargeSpan(DISCOUNT, "svc", date(2026, 4, 1), date(2026, 5, 1))}),
        discounts=extras.discounts,
    )
    assert runs(sub, done, [date(2026, 4, 1)]) == [(DISCOUNT, "svc", START, date(2026, 4, 1), -138)]
