"""Points awards applied by the evaluation itself (the run's day given, as LoyaltyAward does since the
``loyalty-points-applied-at-evaluation`` patch): the same awards, movements, balances and events as the
two-step path (pending, then pages), each (rule, account, period) credited once however often the
evaluation runs, a statement that fails leaves nothing, and non-points awards still wait for the pages.
Also the points trigger over many pages (its plans are made at each firing, migration 0040)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from activities.loyalty import awards, evaluation, points, runs
from models.base import engine_for, unit_of_work
from models.loyalty import LoyaltyRule
from tests.support.factories import make_operator
from tests.support.loyalty_support import (
    PERIOD,
    RUN_DAY,
    award_period,
    awarded,
    customer,
    invoice,
    programme,
    rule,
    scalar,
)

RULES = {
    "tenure": {
        "criterion": {"kind": "maturity", "months_active": 12},
        "award": {"kind": "points", "points": 100},
    },
    "spend": {
        "criterion": {"kind": "spend", "basis": "billed", "min_amount_minor": 5000, "currency": "EUR"},
        "award": {"kind": "points", "points": 10, "points_per_major_unit": "1"},
    },
    "duo": {
        "criterion": {"kind": "services", "product_kinds": ["video", "broadband"]},
        "award": {"kind": "wallet_credit", "amount_minor": 150, "currency": "EUR"},
    },
}


def _operator(url: str) -> tuple[str, list[str]]:
    """An operator with the three rules and accounts: A (everything), B (tenure only), C (new, duo)."""
    org = make_operator(url).organisation_id
    programme(url, org, value="0.5", expiry_months=12)
    a = customer(url, org, since=date(2024, 1, 15), kinds=("video", "broadband"))
    b = customer(url, org, since=date(2025, 1, 1))
    c = customer(url, org, since=date(2026, 3, 1), kinds=("video", "broadband"))
    invoice(url, org, a, 6050, date(2026, 3, 10))
    invoice(url, org, b, 4999, date(2026, 3, 10))
    for code, definition in RULES.items():
        rule(url, org, code, definition)
    return org, [a.account_id, b.account_id, c.account_id]


def _evaluate_at(url: str, org: str, run_id: str, on: date | None = RUN_DAY) -> dict[str, int]:
    inserted = {}
    with unit_of_work(url) as session:
        found = session.execute(sa.select(LoyaltyRule).where(LoyaltyRule.organisation_id == org)).scalars()
        for each in found:
            inserted[each.code] = evaluation.evaluate(session, run_id, each, PERIOD, on)
    return inserted


def _start(url: str, org: str) -> str:
    with unit_of_work(url) as session:
        return runs.start_run(session, org, PERIOD, "test").run_id


def _ledger(url: str, org: str) -> dict[str, tuple[int, int, str | None]]:
    """account → (balance, sum of movements, expiry of its earn movements)."""
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select m.account_id, b.balance, sum(m.points), max(m.expires_on)::text"
                " from loyalty_point_movements m join loyalty_point_balances b on b.account_id = m.account_id"
                " where m.organisation_id = :o group by m.account_id, b.balance"
            ),
            {"o": org},
        ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _events(url: str, org: str) -> int:
    sql = "select count(*) from business_events where type = 'loyalty.awarded' and organisation_id = :o"
    return int(scalar(url, sql, o=org))


def test_points_applied_at_evaluation_match_the_two_step_path(database_url: str) -> None:
    url = database_url
    fused, (a, b, c) = _operator(url)
    paged, _ = _operator(url)
    award_period(url, paged)  # evaluation without the run's day: pending, then pages
    run_id = _start(url, fused)
    assert _evaluate_at(url, fused, run_id) == {"tenure": 2, "spend": 1, "duo": 2}
    statuses = {(code, who): status for (code, who), (_, _, _, status) in awarded(url, fused).items()}
    assert statuses == {
        ("tenure", a): "applied",
        ("tenure", b): "applied",
        ("spend", a): "applied",
        ("duo", a): "pending",  # wallet credit: applied by the pages
        ("duo", c): "pending",
    }
    expiry = "2027-04-01"  # 12 months after the run's day
    assert _ledger(url, fused) == {a: (170, 170, expiry), b: (100, 100, expiry)}  # 100 + 10 + 60.50 → 60
    assert _events(url, fused) == 3
    with unit_of_work(url) as session:
        assert awards.apply_page(session, run_id, fused, 10, RUN_DAY) == (2, False)  # the wallet credits
    with unit_of_work(url) as session:
        runs.finish_run(session, run_id, 0)
    # The same awards, points and balances as the two-step path (account by account, in creation order).
    by_kind = {
        (code, kind, pts, amount, status)
        for (code, _), (kind, pts, amount, status) in awarded(url, fused).items()
    }
    by_kind_paged = {
        (code, kind, pts, amount, status)
        for (code, _), (kind, pts, amount, status) in awarded(url, paged).items()
    }
    assert by_kind == by_kind_paged
    assert sorted(v[:2] for v in _ledger(url, fused).values()) == sorted(
        v[:2] for v in _ledger(url, paged).values()
    )
    assert _events(url, fused) == _events(url, paged) == 5


def test_evaluating_again_credits_nothing_and_a_failed_statement_leaves_nothing(database_url: str) -> None:
    url = database_url
    org, (a, b, _) = _operator(url)
    run_id = _start(url, org)
    with pytest.raises(IntegrityError), unit_of_work(url) as session:  # killed mid-way: all rolled back
        found = session.execute(
            sa.select(LoyaltyRule).where(LoyaltyRule.organisation_id == org, LoyaltyRule.code == "tenure")
        ).scalar_one()
        evaluation.evaluate(session, run_id, found, PERIOD, RUN_DAY)
        session.execute(sa.text("insert into loyalty_awards (id) values (null)"))
    assert awarded(url, org) == {} and _ledger(url, org) == {} and _events(url, org) == 0
    first = _evaluate_at(url, org, run_id)
    assert _evaluate_at(url, org, run_id) == {"tenure": 0, "spend": 0, "duo": 0}  # a retried activity
    assert _evaluate_at(url, org, run_id, on=None) == {"tenure": 0, "spend": 0, "duo": 0}
    assert first == {"tenure": 2, "spend": 1, "duo": 2}
    assert _ledger(url, org) == {a: (170, 170, "2027-04-01"), b: (100, 100, "2027-04-01")}
    assert _events(url, org) == 3
    count = "select count(*) from loyalty_point_movements where organisation_id = :o"
    assert scalar(url, count, o=org) == 3


def test_the_points_trigger_keeps_balances_over_many_statements(database_url: str) -> None:
    """One connection, many movement statements on a growing balances table: each balance is the sum of
    its movements (the trigger's plans are made at each firing, not once for an empty table)."""
    url = database_url
    org = make_operator(url).organisation_id
    members = [customer(url, org, since=date(2025, 1, 1)).account_id for _ in range(6)]
    with unit_of_work(url) as session:
        for step in range(1, 5):
            earns = [points.Earn(acc, step, f"t:{step}:{acc}", None) for acc in members[: step + 2]]
            points.earn_many(session, org, earns, RUN_DAY)
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select b.account_id, b.balance, (select sum(points) from loyalty_point_movements m"
                " where m.account_id = b.account_id) from loyalty_point_balances b"
                " where b.organisation_id = :o"
            ),
            {"o": org},
        ).all()
    assert {r[0]: (r[1], r[2]) for r in rows} == {
        members[0]: (10, 10),
        members[1]: (10, 10),
        members[2]: (10, 10),
        members[3]: (9, 9),
        members[4]: (7, 7),
        members[5]: (4, 4),
    }
