"""domain.invoicing: a period a change charged is not billed again, a service is not billed for a period
it was never live in, and a stop credits only a period that is billed."""

from __future__ import annotations

from datetime import date

from domain.invoicing import BilledSpan, ServiceSpan, SubscriptionToBill, credit_owed, due
from domain.periods import Period
from domain.quote import QuoteContext
from tests.support.plan_specs import MONTHLY

START = date(2024, 1, 1)
JANUARY = Period(date(2024, 1, 1), date(2024, 2, 1))
FEBRUARY = Period(date(2024, 2, 1), date(2024, 3, 1))


def lines(services: list[ServiceSpan], billed: set[BilledSpan], up_to: date, end: date | None = None) -> list:
    sub = SubscriptionToBill("sub", "EUR", 1, START, end, services, frozenset(billed))
    work = due(sub, up_to, QuoteContext("EUR"))
    return [(ln.service_id, ln.start, ln.end) for ln in work.lines]


def test_an_addons_first_period_charged_by_its_change_is_not_billed_again() -> None:
    addon = ServiceSpan("svc_tv", "svc_tv", MONTHLY, "video", date(2024, 1, 11), None, 1)
    charged = {BilledSpan("svc_tv", "svc_tv", JANUARY.start, JANUARY.end)}
    assert lines([addon], charged, date(2024, 2, 1)) == [("svc_tv", FEBRUARY.start, FEBRUARY.end)]


def test_a_service_ending_on_a_period_start_is_not_billed_for_that_period() -> None:
    net = ServiceSpan("svc", "svc", MONTHLY, "broadband", START, date(2024, 2, 1), 1)
    assert lines([net], set(), date(2024, 2, 1), end=date(2024, 2, 1)) == [
        ("svc", JANUARY.start, JANUARY.end)
    ]


def test_a_stop_credits_only_a_period_that_is_billed() -> None:
    assert credit_owed(START, JANUARY, date(2024, 1, 11), charged=False)  # the run bills January in full
    assert not credit_owed(START, FEBRUARY, date(2024, 2, 1), charged=False)  # no day of February used
    assert credit_owed(START, FEBRUARY, date(2024, 2, 1), charged=True)  # a run billed February first
    assert not credit_owed(date(2024, 2, 1), FEBRUARY, date(2024, 2, 1), charged=False)
