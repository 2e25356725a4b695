"""Loyalty award rules over real rows: each rule family awards exactly the accounts that qualify, with
exact points and money; an award is made once per (rule, account, period) however often a period is
evaluated or run; wallet credit and vouchers post balanced ledger entries; the run reports counts and
cost per rule."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from activities.loyalty import evaluation, runs
from domain.ids import new_id
from models.base import engine_for, unit_of_work
from models.loyalty import LoyaltyRule, LoyaltyRun
from tests.support.factories import make_operator
from tests.support.loyalty_support import (
    PERIOD,
    award_period,
    awarded,
    customer,
    invoice,
    payment,
    programme,
    rule,
    scalar,
    usage,
    utc,
)
from tests.support.wallet_support import postings_of

TRIPLE = ("video", "broadband", "telephony")


@pytest.fixture
def world(database_url: str) -> dict[str, str]:
    """Operator X with accounts A (qualifies for everything), B (almost), C (GBP, tenure and triple
    play) and operator Y's account D (qualifies for everything, but is not X's)."""
    url = database_url
    x = make_operator(url).organisation_id
    y = make_operator(url).organisation_id
    a = customer(url, x, since=date(2025, 1, 15), kinds=TRIPLE)
    b = customer(url, x, since=date(2025, 6, 1), kinds=("video", "broadband"))
    c = customer(url, x, since=date(2024, 1, 1), kinds=TRIPLE, currency="GBP")
    d = customer(url, y, since=date(2024, 1, 1), kinds=TRIPLE)
    for who, org in ((a, x), (d, y)):
        for metric in ("voice", "sms", "data"):
            usage(url, org, who, metric, utc(2026, 3, 10))
    usage(url, x, b, "voice", utc(2026, 3, 1, 0))
    usage(url, x, b, "data", utc(2026, 3, 31, 23))
    usage(url, x, b, "sms", utc(2026, 2, 28, 23))  # the month before
    invoice(url, x, a, 4000, date(2026, 3, 1))
    invoice(url, x, a, 2000, date(2026, 3, 31))
    invoice(url, x, a, 9999, date(2026, 3, 15), status="void")
    invoice(url, x, a, 3000, date(2026, 2, 28))  # outside a one-month window
    invoice(url, x, b, 4000, date(2026, 3, 20))
    invoice(url, y, d, 9000, date(2026, 3, 20))
    payment(url, x, a, 3500, utc(2026, 3, 5), refunded=500)
    payment(url, x, b, 2999, utc(2026, 3, 5))
    programme(url, x, value="0.5")
    for code, definition in {
        "tenure": {
            "criterion": {"kind": "maturity", "months_active": 12},
            "award": {"kind": "points", "points": 100},
        },
        "triple": {
            "criterion": {"kind": "services", "product_kinds": list(TRIPLE)},
            "award": {"kind": "wallet_credit", "amount_minor": 500, "currency": "EUR"},
        },
        "usage3": {
            "criterion": {"kind": "usage", "min_services": 3},
            "award": {"kind": "voucher", "value_minor": 1000, "currency": "EUR", "valid_days": 30},
        },
        "spend": {
            "criterion": {"kind": "spend", "basis": "billed", "min_amount_minor": 5000, "currency": "EUR"},
            "award": {"kind": "points", "points": 10, "points_per_major_unit": "1"},
        },
        "paid": {
            "criterion": {"kind": "spend", "basis": "paid", "min_amount_minor": 3000, "currency": "EUR"},
            "award": {"kind": "points", "points": 5},
        },
    }.items():
        rule(url, x, code, definition)
    rule(
        url,
        y,
        "tenure",
        {"criterion": {"kind": "maturity", "months_active": 1}, "award": {"kind": "points", "points": 1}},
    )
    return {"x": x, "y": y, "a": a.account_id, "b": b.account_id, "c": c.account_id, "d": d.account_id}


def test_each_rule_family_awards_exactly_the_qualifying_accounts(
    database_url: str, world: dict[str, str]
) -> None:
    url, a, c = database_url, world["a"], world["c"]
    run_id = award_period(url, world["x"])
    assert awarded(url, world["x"]) == {
        ("tenure", a): ("points", 100, None, "applied"),
        ("tenure", c): ("points", 100, None, "applied"),
        ("triple", a): ("wallet_credit", 0, 500, "applied"),
        ("usage3", a): ("voucher", 0, 1000, "applied"),
        ("spend", a): ("points", 70, None, "applied"),  # 10 + 60.00 EUR billed x 1
        ("paid", a): ("points", 5, None, "applied"),  # 35.00 paid - 5.00 refunded = 30.00
    }
    balance = "select balance from loyalty_point_balances where account_id = :a"
    assert scalar(url, balance, a=a) == 175
    assert scalar(url, balance, a=c) == 100
    assert (
        scalar(url, "select balance_minor from wallets where account_id = :a and currency = 'EUR'", a=a)
        == 500
    )
    with engine_for(url).connect() as conn:
        credit_entry, voucher_entry, code, voucher_id = conn.execute(
            sa.text(
                "select (select ledger_entry_id from loyalty_awards"
                "        where account_id = :a and kind = 'wallet_credit'),"
                " ledger_entry_id, voucher_code, voucher_id from loyalty_awards"
                " where account_id = :a and kind = 'voucher'"
            ),
            {"a": a},
        ).one()
        voucher = conn.execute(
            sa.text(
                "select v.status, l.value_minor, l.expires_on from vouchers v"
                " join voucher_lots l on l.id = v.lot_id where v.id = :v"
            ),
            {"v": voucher_id},
        ).one()
    assert sorted(postings_of(url, credit_entry)) == [
        ("marketing:loyalty", None, 500, 0),
        ("wallet", a, 0, 500),
    ]
    assert sorted(postings_of(url, voucher_entry)) == [
        ("cash:voucher", None, 0, 1000),
        ("marketing:loyalty", None, 1000, 0),
    ]
    assert len(code) == 19 and tuple(voucher) == ("activated", 1000, date(2026, 5, 1))
    with unit_of_work(url) as session:
        run = session.get(LoyaltyRun, run_id)
        assert run is not None
        report = {
            r.code: (r.awards, r.applied, r.points, r.amount_minor, r.cost_minor, r.currency)
            for r in runs.report(session, run).rules
        }
    assert report == {
        "paid": (1, 1, 5, 0, 3, "EUR"),  # 5 points x 0.5 = 2.5 → 3 (half up)
        "spend": (1, 1, 70, 0, 35, "EUR"),
        "tenure": (2, 2, 200, 0, 100, "EUR"),
        "triple": (1, 1, 0, 500, 500, "EUR"),
        "usage3": (1, 1, 0, 1000, 1000, "EUR"),
    }
    award_period(url, world["y"])
    assert set(awarded(url, world["y"])) == {("tenure", world["d"])}  # Y's rule, Y's account only
    events = "select count(*) from business_events where type = 'loyalty.awarded' and organisation_id = :o"
    assert scalar(url, events, o=world["x"]) == 6


def test_an_award_is_made_once_per_rule_account_and_period(database_url: str, world: dict[str, str]) -> None:
    url, x = database_url, world["x"]
    run_id = award_period(url, x)
    before = awarded(url, x)
    assert award_period(url, x) == run_id  # the period's run again: the same run, nothing new
    with unit_of_work(url) as session:
        for found in session.execute(
            sa.select(LoyaltyRule).where(LoyaltyRule.organisation_id == x)
        ).scalars():
            assert evaluation.evaluate(session, run_id, found, PERIOD) == 0
    assert awarded(url, x) == before
    assert (
        scalar(url, "select balance from loyalty_point_balances where account_id = :a", a=world["a"]) == 175
    )
    assert (
        scalar(
            url,
            "select count(*) from wallet_transactions t join wallets w on w.id = t.wallet_id"
            " where w.account_id = :a",
            a=world["a"],
        )
        == 1
    )
    with pytest.raises(IntegrityError), engine_for(url).begin() as conn:  # the last guard
        conn.execute(
            sa.text(
                "insert into loyalty_awards (id, organisation_id, rule_id, account_id, period_key, run_id,"
                " kind, points, status, created_at) select :id, organisation_id, rule_id, account_id,"
                " period_key, run_id,"
                " kind, points, 'pending', now() from loyalty_awards where account_id = :a limit 1"
            ),
            {"id": new_id("law"), "a": world["a"]},
        )
    award_period(url, x, "2026-04", date(2026, 5, 1))  # the next period awards again (A still qualifies)
    assert (
        scalar(
            url,
            "select count(*) from loyalty_awards where account_id = :a and period_key = '2026-04'",
            a=world["a"],
        )
        == 2
    )


def test_a_once_rule_awards_each_account_once_ever(database_url: str) -> None:
    url = database_url
    x = make_operator(url).organisation_id
    a = customer(url, x, since=date(2025, 1, 15))
    rule(
        url,
        x,
        "welcome-year",
        {
            "criterion": {"kind": "maturity", "months_active": 12},
            "award": {"kind": "points", "points": 50},
            "frequency": "once",
        },
    )
    award_period(url, x, "2026-03", date(2026, 4, 1))
    award_period(url, x, "2026-04", date(2026, 5, 1))
    assert awarded(url, x) == {("welcome-year", a.account_id): ("points", 50, None, "applied")}
    assert (
        scalar(url, "select period_key from loyalty_awards where account_id = :a", a=a.account_id) == "once"
    )
