"""A run's points rules in one statement with ONE earn movement per account (activities/loyalty/run_points.py,
LoyaltyAward since the ``loyalty-rules-in-one-statement`` patch): the same awards, balances and events as
one statement per rule; each award names its movement, whose points are the sum of its awards; a second
evaluation (a retried activity) credits nothing; a statement that fails leaves nothing; an account that
qualifies later in the same period gets its own movement; reversal still works award by award."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from activities.loyalty import awards, points, reversals, run_points, runs
from domain.errors import Conflict
from models.base import engine_for, unit_of_work
from models.loyalty import LoyaltyRule
from tests.support.factories import Tenant, make_operator
from tests.support.loyalty_support import (
    PERIOD,
    RUN_DAY,
    Customer,
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
BALANCE = "select balance from loyalty_point_balances where account_id = :a"


def _operator(url: str) -> tuple[str, list[str]]:
    """Accounts A (tenure, spend, duo), B (tenure only), C (new: duo)."""
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


def _evaluate(url: str, org: str, run_id: str) -> dict[str, int]:
    with unit_of_work(url) as session:
        found = list(
            session.execute(sa.select(LoyaltyRule).where(LoyaltyRule.organisation_id == org)).scalars()
        )
        inserted = run_points.evaluate_run(session, run_id, found, PERIOD, RUN_DAY)
        return {each.code: inserted[each.id] for each in found}


def _start(url: str, org: str) -> str:
    with unit_of_work(url) as session:
        return runs.start_run(session, org, PERIOD, "test").run_id


def _movements(url: str, org: str) -> dict[str, list[tuple[str, int, str | None]]]:
    """account → its movements (kind, points, expiry) in creation order."""
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select account_id, kind, points, expires_on::text from loyalty_point_movements"
                " where organisation_id = :o order by id"
            ),
            {"o": org},
        ).all()
    found: dict[str, list[tuple[str, int, str | None]]] = {}
    for account_id, kind, pts, expires in rows:
        found.setdefault(account_id, []).append((kind, pts, expires))
    return found


def _named_movements_match(url: str, org: str) -> None:
    """Every applied points award names a movement of its account whose points are its awards' sum,
    keyed by its first award; every balance is the sum of its movements."""
    with engine_for(url).connect() as conn:
        bad = conn.execute(
            sa.text(
                "select m.id from loyalty_point_movements m"
                " join loyalty_awards a on a.movement_id = m.id and a.account_id = m.account_id"
                " where m.organisation_id = :o and m.kind = 'earn'"
                " group by m.id having sum(a.points) <> min(m.points)"
                "    or min(m.idempotency_key) <> 'award:' || min(a.id) or min(m.award_id) <> min(a.id)"
                " union all select a.id from loyalty_awards a where a.organisation_id = :o"
                " and a.kind = 'points' and a.status = 'applied' and a.points > 0 and not exists"
                " (select 1 from loyalty_point_movements m where m.id = a.movement_id"
                "  and m.account_id = a.account_id)"
                " union all select b.account_id from loyalty_point_balances b where b.organisation_id = :o"
                " and b.balance <> (select sum(points) from loyalty_point_movements m"
                "  where m.account_id = b.account_id)"
            ),
            {"o": org},
        ).all()
    assert bad == []


def test_one_movement_per_account_with_the_awards_of_every_rule(database_url: str) -> None:
    url = database_url
    org, (a, b, c) = _operator(url)
    run_id = _start(url, org)
    assert _evaluate(url, org, run_id) == {"tenure": 2, "spend": 1, "duo": 2}
    statuses = {key: status for key, (_, _, _, status) in awarded(url, org).items()}
    assert statuses == {
        ("tenure", a): "applied",
        ("tenure", b): "applied",
        ("spend", a): "applied",
        ("duo", a): "pending",  # wallet credit: applied by the pages
        ("duo", c): "pending",
    }
    expiry = "2027-04-01"
    # A: 100 (tenure) + 10 + 60 (60.50 spent) in ONE movement; B: 100.
    assert _movements(url, org) == {a: [("earn", 170, expiry)], b: [("earn", 100, expiry)]}
    assert scalar(url, BALANCE, a=a) == 170 and scalar(url, BALANCE, a=b) == 100
    _named_movements_match(url, org)
    events = (
        "select count(*), count(distinct data->>'award_id'), count(data->>'movement_id') from business_events"
        " where type = 'loyalty.awarded' and organisation_id = :o"
    )
    with engine_for(url).connect() as conn:
        assert tuple(conn.execute(sa.text(events), {"o": org}).one()) == (3, 3, 3)  # one per award
    with unit_of_work(url) as session:
        assert awards.apply_page(session, run_id, org, 10, RUN_DAY) == (2, False)
    with unit_of_work(url) as session:
        report = runs.finish_run(session, run_id, 0)
    assert {(r.code, r.awards, r.applied, r.points) for r in report.rules} == {
        ("tenure", 2, 2, 200),
        ("spend", 1, 1, 70),
        ("duo", 2, 2, 0),
    }


def test_again_credits_nothing_a_failed_statement_leaves_nothing_and_latecomers_get_their_own(
    database_url: str,
) -> None:
    url = database_url
    org, (a, b, _) = _operator(url)
    run_id = _start(url, org)
    with pytest.raises(IntegrityError), unit_of_work(url) as session:  # killed mid-way: all rolled back
        found = list(
            session.execute(sa.select(LoyaltyRule).where(LoyaltyRule.organisation_id == org)).scalars()
        )
        run_points.evaluate_run(session, run_id, found, PERIOD, RUN_DAY)
        session.execute(sa.text("insert into loyalty_awards (id) values (null)"))
    assert awarded(url, org) == {} and _movements(url, org) == {}
    assert _evaluate(url, org, run_id) == {"tenure": 2, "spend": 1, "duo": 2}
    assert _evaluate(url, org, run_id) == {"tenure": 0, "spend": 0, "duo": 0}  # a retried activity
    late = customer(url, org, since=date(2024, 6, 1)).account_id  # qualifies for tenure too
    assert _evaluate(url, org, run_id) == {"tenure": 1, "spend": 0, "duo": 0}
    expiry = "2027-04-01"
    assert _movements(url, org) == {
        a: [("earn", 170, expiry)],
        b: [("earn", 100, expiry)],
        late: [("earn", 100, expiry)],
    }
    _named_movements_match(url, org)
    assert scalar(url, BALANCE, a=late) == 100


def test_reversal_award_by_award_and_of_the_rest_of_the_movement(database_url: str) -> None:
    url = database_url
    org, (a, _, _) = _operator(url)
    run_id = _start(url, org)
    _evaluate(url, org, run_id)
    spend = scalar(
        url,
        "select a.id from loyalty_awards a join loyalty_rules r on r.id = a.rule_id"
        " where a.account_id = :a and r.code = 'spend'",
        a=a,
    )
    movement = scalar(url, "select movement_id from loyalty_awards where id = :i", i=spend)
    on = date(2026, 4, 2)
    with unit_of_work(url) as session:
        first = reversals.reverse_award(session, org, spend, "spend rule misconfigured", on).id
    with unit_of_work(url) as session:  # once
        assert reversals.reverse_award(session, org, spend, "again", on).id == first
    assert scalar(url, BALANCE, a=a) == 100
    with unit_of_work(url) as session:  # the rest of the movement: the tenure award's 100
        rest = points.reverse(session, org, movement, "all of it", on)
        assert rest.points == -100 and rest.reverses_id == movement
    with unit_of_work(url) as session:  # the whole movement is reversed: the award's reversal is that
        tenure = scalar(
            url, "select id from loyalty_awards where movement_id = :m and id <> :s", m=movement, s=spend
        )
        assert reversals.reverse_award(session, org, tenure, "late", on).id == rest.id
    assert scalar(url, BALANCE, a=a) == 0
    assert [kind_points[:2] for kind_points in _movements(url, org)[a]] == [
        ("earn", 170),
        ("reverse", -70),
        ("reverse", -100),
    ]
    _named_movements_match(url, org)


def test_a_movement_fully_reversed_award_by_award_is_not_reversed_again(database_url: str) -> None:
    url = database_url
    org, (_, b, _) = _operator(url)
    run_id = _start(url, org)
    _evaluate(url, org, run_id)
    with engine_for(url).connect() as conn:
        tenure, movement = conn.execute(
            sa.text("select id, movement_id from loyalty_awards where account_id = :a"), {"a": b}
        ).one()
    with unit_of_work(url) as session:
        reversals.reverse_award(session, org, tenure, "error", RUN_DAY)
    with pytest.raises(Conflict) as refused, unit_of_work(url) as session:
        points.reverse(session, org, movement, "all of it", RUN_DAY)
    assert refused.value.code == "points_already_reversed"
    assert scalar(url, BALANCE, a=b) == 0


async def test_the_api_reverses_one_award_or_a_movement(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    url, org = database_url, operator.organisation_id
    programme(url, org, value="1")
    member = customer(url, org, since=date(2024, 1, 15)).account_id
    other = customer(url, org, since=date(2024, 1, 15)).account_id
    for code in ("tenure", "spend"):
        rule(url, org, code, RULES[code])
    invoice(url, org, Customer(member, ""), 6050, date(2026, 3, 10))
    _evaluate(url, org, _start(url, org))
    spend = scalar(url, "select id from loyalty_awards where account_id = :a and points = 70", a=member)
    path = f"/v1/accounts/{member}/points/reversals"
    both = {"award_id": spend, "movement_id": "lpm_x", "reason": "error"}
    refused = await api.post(path, json=both, headers=operator.post_headers())
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    elsewhere = await api.post(
        f"/v1/accounts/{other}/points/reversals",
        json={"award_id": spend, "reason": "error"},
        headers=operator.post_headers(),
    )
    assert elsewhere.status_code == 404, elsewhere.text
    done = await api.post(path, json={"award_id": spend, "reason": "error"}, headers=operator.post_headers())
    assert done.status_code == 201, done.text
    assert (done.json()["kind"], done.json()["points"]) == ("reverse", -70)
    assert scalar(url, BALANCE, a=member) == 100


def _evaluate_part(url: str, org: str, run_id: str, part: int, parts: int) -> dict[str, int]:
    with unit_of_work(url) as session:
        found = list(
            session.execute(sa.select(LoyaltyRule).where(LoyaltyRule.organisation_id == org)).scalars()
        )
        inserted = run_points.evaluate_run(session, run_id, found, PERIOD, RUN_DAY, part, parts)
        return {each.code: inserted[each.id] for each in found}


def test_parts_in_parallel_transactions_award_each_account_once(database_url: str) -> None:
    """Two parts (LoyaltyAward evaluates them in parallel): disjoint accounts, together the whole run,
    the non-points rules in part 0 only; run concurrently, neither waits on the other's rows."""
    url = database_url
    org, (a, b, _) = _operator(url)
    more = [customer(url, org, since=date(2024, 2, 1)).account_id for _ in range(6)]
    run_id = _start(url, org)
    with ThreadPoolExecutor(2) as pool:
        halves = list(pool.map(lambda part: _evaluate_part(url, org, run_id, part, 2), [0, 1]))
    assert {code: halves[0][code] + halves[1][code] for code in RULES} == {"tenure": 8, "spend": 1, "duo": 2}
    assert halves[1]["duo"] == 0 and halves[0]["duo"] == 2
    in_part_0 = (
        "select count(*) from loyalty_awards where run_id = :r and kind = 'points'"
        " and abs(hashtext(account_id)) % 2 = 0"
    )
    assert scalar(url, in_part_0, r=run_id) == halves[0]["tenure"] + halves[0]["spend"]
    assert _evaluate_part(url, org, run_id, 1, 2) == {"tenure": 0, "spend": 0, "duo": 0}
    expiry = "2027-04-01"
    assert _movements(url, org) == {
        a: [("earn", 170, expiry)],
        b: [("earn", 100, expiry)],
        **{acc: [("earn", 100, expiry)] for acc in more},
    }
    _named_movements_match(url, org)
