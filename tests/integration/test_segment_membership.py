"""Segment membership on small crafted data: every predicate family selects exactly the accounts it should,
and/or/not combine, each refresh writes its joiners and leavers, and a repeated refresh changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from activities.segments import records
from domain.organisations import Role
from domain.principal import Principal
from models.accounts import Account
from models.base import unit_of_work
from models.organisations import Organisation
from models.segments import Segment
from tests.support.factories import make_operator
from tests.support.segment_data import Crafted, changes, members

AS_OF = "2026-06-15"
LAST_3 = {"last_months": 3}  # 2026-03-15 up to 2026-06-15 included


@pytest.fixture
def data(database_url: str) -> Crafted:
    return Crafted(database_url, make_operator(database_url).organisation_id)


def only(data: Crafted, rule: dict[str, Any]) -> set[str]:
    """The members after one refresh of a new segment with ``rule`` (checked against the snapshot)."""
    segment = data.segment(rule)
    done = data.refresh(segment, "r1", AS_OF)
    found = members(data.database_url, segment)
    assert changes(data.database_url, segment, "r1") == {"joined": found, "left": set()}
    assert (done.joined, done.left, done.member_count) == (len(found), 0, len(found))
    return found


def test_demographics_and_status(data: Crafted) -> None:
    ana = data.account(type="person", language="es")
    corp = data.account(type="company", language="en")
    gone = data.account(type="person", language="en", status="closed")
    assert only(data, {"field": "account_type", "in": ["company"]}) == {corp}
    assert only(data, {"field": "language", "in": ["es", "fr"]}) == {ana}
    assert only(data, {"field": "status", "in": ["closed"]}) == {gone}


def born(data: Crafted, account_id: str, day: str) -> str:
    with unit_of_work(data.database_url) as session:
        session.execute(
            sa.update(Account).where(Account.id == account_id).values(birth_date=date.fromisoformat(day))
        )
    return account_id


def test_age_bands_count_whole_years_at_the_refresh_date(data: Crafted) -> None:
    teen = born(data, data.account(), "2010-06-16")  # 16 tomorrow: 15 on 2026-06-15
    eighteen = born(data, data.account(), "2008-06-15")  # 18 on the day
    leap = born(data, data.account(), "2008-02-29")  # 18 since 2026-03-01
    adult = born(data, data.account(), "1990-01-01")  # 36
    corp = data.account(type="company")  # no birth date: in no age band, nor out of one
    assert only(data, {"field": "age_band", "min": 18, "max": 25}) == {eighteen, leap}
    assert only(data, {"field": "age_band", "max": 17}) == {teen}
    assert only(data, {"field": "age_band", "min": 36}) == {adult}
    assert only(data, {"not": {"field": "age_band", "min": 18, "max": 25}}) == {teen, adult}
    either = {"any": [{"field": "age_band", "min": 30}, {"field": "account_type", "in": ["company"]}]}
    assert only(data, either) == {adult, corp}
    segment = data.segment({"field": "age_band", "max": 15})
    data.refresh(segment, "r1", "2026-06-15")
    data.refresh(segment, "r2", "2026-06-16")  # the teen's birthday: 16 now
    assert changes(data.database_url, segment, "r2") == {"joined": set(), "left": {teen}}


def test_location(data: Crafted) -> None:
    madrid = data.account(
        addresses=[{"city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES"}]
    )
    berlin = data.account(
        addresses=[
            {"kind": "billing", "city": "Berlin", "region": "BE", "postal_code": "10115", "country": "DE"},
            {"kind": "service", "city": "Potsdam", "region": "BB", "postal_code": "14467", "country": "DE"},
        ]
    )
    data.account()  # no address
    assert only(data, {"field": "country", "in": ["DE", "AT"]}) == {berlin}
    assert only(data, {"field": "region", "in": ["MD", "BB"]}) == {madrid, berlin}
    assert only(data, {"field": "city", "in": ["Madrid"]}) == {madrid}
    assert only(data, {"field": "postal_code", "prefix": "144"}) == {berlin}
    assert only(data, {"field": "postal_code", "prefix": "28"}) == {madrid}


def test_products(data: Crafted) -> None:
    triple = data.account()
    data.subscription(
        triple,
        services=[
            {"plan": "FIBER-600", "kind": "broadband", "bundle": "TRIPLE"},
            {"plan": "TV-PLUS", "kind": "video", "bundle": "TRIPLE"},
            {"plan": "VOICE", "kind": "telephony", "bundle": "TRIPLE"},
        ],
    )
    fiber = data.account()
    data.subscription(fiber, services=[{"plan": "FIBER-600", "kind": "broadband"}])
    ended = data.account()
    data.subscription(ended, status="terminated", services=[{"plan": "TV-PLUS", "kind": "video"}])
    nothing = data.account()
    assert only(data, {"field": "plan", "in": ["TV-PLUS"]}) == {triple}
    assert only(data, {"field": "product_kind", "in": ["broadband"]}) == {triple, fiber}
    assert only(data, {"field": "bundle", "in": ["TRIPLE"]}) == {triple}
    assert only(data, {"field": "service_count", "op": "gte", "value": 3}) == {triple}
    assert only(data, {"field": "service_count", "op": "lt", "value": 1}) == {ended, nothing}
    assert only(data, {"field": "subscription_status", "in": ["terminated"]}) == {ended}


def test_tenure(data: Crafted) -> None:
    old = data.account()
    data.subscription(old, start="2024-01-10")
    data.subscription(old, start="2026-05-01")  # the first start counts
    year = data.account()
    data.subscription(year, start="2025-06-15")  # exactly 12 months on 2026-06-15
    young = data.account()
    data.subscription(young, start="2025-06-16")  # 11 months
    data.account()  # never subscribed: no tenure
    assert only(data, {"field": "tenure_months", "op": "gte", "value": 12}) == {old, year}
    assert only(data, {"field": "tenure_months", "op": "lt", "value": 12}) == {young}


def test_usage_in_a_period(data: Crafted) -> None:
    heavy, light, stale, idle = (data.account() for _ in range(4))
    for account, amounts in ((heavy, [600, 500]), (light, [300])):
        sub = data.subscription(account)
        for quantity in amounts:
            data.usage(sub, "data_mb", quantity, "2026-05-02")
    sub = data.subscription(stale)
    data.usage(sub, "data_mb", 5000, "2026-03-14")  # the day before the period
    data.usage(sub, "voice_s", 5000, "2026-05-01")  # another metric
    data.subscription(idle)
    over = {"field": "usage", "metric": "data_mb", "op": "gt", "value": 1000, "period": LAST_3}
    under = {"field": "usage", "metric": "data_mb", "op": "lte", "value": 300, "period": LAST_3}
    dated = {
        "field": "usage",
        "metric": "data_mb",
        "op": "gte",
        "value": 5000,
        "period": {"from": "2026-03-01", "until": "2026-04-01"},
    }
    assert only(data, over) == {heavy}
    assert only(data, under) == {light, stale, idle}
    assert only(data, dated) == {stale}


def test_amounts_billed_and_paid(data: Crafted) -> None:
    big, small, usd, refunded = (data.account() for _ in range(4))
    data.invoice(big, 6000, issued="2026-04-01")
    data.invoice(big, 6000, issued="2026-05-01")
    data.invoice(big, 9999, issued="2026-05-01", status="void")
    data.invoice(small, 3000, issued="2026-05-01")
    data.invoice(usd, 50000, issued="2026-05-01", currency="USD")
    data.payment(big, 12000, day="2026-05-10")
    data.payment(small, 3000, day="2026-05-10")
    data.payment(small, 9000, day="2026-05-11", status="failed")
    data.payment(refunded, 20000, day="2026-05-10", status="partially_refunded", refunded=15000)
    billed = {"field": "amount_billed", "currency": "EUR", "op": "gte", "value": 12000, "period": LAST_3}
    paid = {"field": "amount_paid", "currency": "EUR", "op": "gt", "value": 4000, "period": LAST_3}
    assert only(data, billed) == {big}
    assert only(data, paid) == {big, refunded}
    assert only(data, {**paid, "op": "lte"}) == {small, usd}


def test_payment_method_late_payments_dunning_and_wallet(data: Crafted) -> None:
    card, sepa, late, dunned, rich = (data.account() for _ in range(5))
    data.method(card, "card")
    data.method(sepa, "sepa_debit")
    data.method(sepa, "card", status="removed")
    on_time = data.invoice(card, 1000, issued="2026-04-01", due="2026-04-15")
    data.payment(card, 1000, day="2026-04-15", invoice_id=on_time)
    paid_late = data.invoice(late, 1000, issued="2026-04-01", due="2026-04-15")
    data.payment(late, 1000, day="2026-04-20", invoice_id=paid_late)
    data.invoice(late, 1000, issued="2026-05-01", due="2026-05-15", status="overdue")
    data.invoice(late, 1000, issued="2026-06-01", due="2026-06-20", status="issued")  # not due yet
    stepped = data.invoice(dunned, 1000, issued="2026-04-01", due="2026-04-15", status="overdue")
    data.dunning_step(stepped, "2026-04-20")
    data.dunning_step(stepped, "2026-04-27")
    data.wallet(rich, 5000)
    data.wallet(rich, 90000, currency="USD")
    data.wallet(card, 100)
    assert only(data, {"field": "payment_method", "in": ["card"]}) == {card}
    assert only(data, {"field": "payment_method", "in": ["sepa_debit", "cash"]}) == {sepa}
    lates = {"field": "late_payments", "op": "gte", "value": 2, "period": LAST_3}
    assert only(data, lates) == {late}
    assert only(data, {**lates, "value": 1}) == {late, dunned}
    steps = {"field": "dunning_steps", "op": "gte", "value": 2, "period": LAST_3}
    assert only(data, steps) == {dunned}
    wallet = {"field": "wallet_balance", "currency": "EUR", "op": "gte", "value": 1000}
    assert only(data, wallet) == {rich}
    assert only(data, {**wallet, "op": "lt"}) == {card, sepa, late, dunned}


def test_and_or_not(data: Crafted) -> None:
    es_person = data.account(type="person", addresses=[{"city": "Madrid", "country": "ES"}])
    es_company = data.account(type="company", addresses=[{"city": "Bilbao", "country": "ES"}])
    de_person = data.account(type="person", addresses=[{"city": "Berlin", "country": "DE"}])
    spain = {"field": "country", "in": ["ES"]}
    person = {"field": "account_type", "in": ["person"]}
    assert only(data, {"all": [spain, person]}) == {es_person}
    assert only(data, {"any": [spain, person]}) == {es_person, es_company, de_person}
    assert only(data, {"not": spain}) == {de_person}
    assert only(data, {"all": [person, {"not": {"any": [spain, {"field": "city", "in": ["Paris"]}]}}]}) == {
        de_person
    }


def test_joiners_and_leavers_are_dated_and_a_repeated_refresh_changes_nothing(data: Crafted) -> None:
    first, second = data.account(), data.account()
    sub = data.subscription(first)
    data.usage(sub, "data_mb", 2000, "2026-05-01")
    segment = data.segment(
        {"field": "usage", "metric": "data_mb", "op": "gt", "value": 1000, "period": LAST_3}
    )
    done = data.refresh(segment, "r1", AS_OF)
    assert (done.joined, done.left, done.member_count) == (1, 0, 1)
    again = data.refresh(segment, "r1", AS_OF)
    assert again.repeated and (again.joined, again.left, again.member_count) == (1, 0, 1)
    same = data.refresh(segment, "r2", AS_OF)  # a new refresh on unchanged data: no change written
    assert (same.joined, same.left, same.member_count) == (0, 0, 1)
    assert changes(data.database_url, segment, "r2") == {"joined": set(), "left": set()}

    other = data.subscription(second)
    data.usage(other, "data_mb", 1500, "2026-06-01")
    later = data.refresh(segment, "r3", "2026-08-10")  # first's May usage is out of the 3 months now
    assert (later.joined, later.left, later.member_count) == (1, 1, 1)
    assert changes(data.database_url, segment, "r3") == {"joined": {second}, "left": {first}}
    assert members(data.database_url, segment) == {second}
    with unit_of_work(data.database_url) as session:
        row = session.get(Segment, segment)
        assert row is not None and row.member_count == 1 and row.refreshed_at == later.at


def test_preview_counts_what_a_refresh_selects_and_writes_nothing(data: Crafted) -> None:
    accounts = sorted(data.account(language="fr") for _ in range(25))
    data.account(language="de")
    rule = {"field": "language", "in": ["fr"]}
    with unit_of_work(data.database_url) as session:
        path = session.get(Organisation, data.organisation_id).path  # type: ignore[union-attr]
        principal = Principal("key", data.organisation_id, path, Role.ADMIN)
        shown = records.preview(session, principal, rule, date.fromisoformat(AS_OF))
    assert shown.count == 25 and shown.sample == accounts[:20]
    segment = data.segment(rule)
    assert members(data.database_url, segment) == set()
    assert data.refresh(segment, "r1", AS_OF).member_count == shown.count


def test_a_segment_sees_only_its_organisation_subtree(database_url: str) -> None:
    mine = Crafted(database_url, make_operator(database_url).organisation_id)
    theirs = Crafted(database_url, make_operator(database_url).organisation_id)
    ours = mine.account(language="it")
    theirs.account(language="it")
    assert only(mine, {"field": "language", "in": ["it"]}) == {ours}
