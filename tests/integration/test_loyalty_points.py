"""The points ledger on PostgreSQL: earn, redeem, expire (oldest points first) and reverse with exact
balances; redemptions post balanced money entries; redeeming more than the balance is a 409 that moves
nothing, also when redemptions race; the database keeps the balance equal to the sum of the movements."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import DBAPIError

from activities.loyalty import points, redemptions
from activities.wallets import vouchers
from domain.errors import Conflict
from domain.loyalty import points_expire_on
from models.accounts import Account
from models.base import engine_for, unit_of_work
from tests.support.billing_factory import make_account
from tests.support.factories import make_operator
from tests.support.loyalty_support import programme, scalar
from tests.support.wallet_support import postings_of

BALANCE = "select balance from loyalty_point_balances where account_id = :a"
SUM = "select coalesce(sum(points), 0) from loyalty_point_movements where account_id = :a"


def earn(url: str, org: str, account_id: str, amount: int, on: date, months: int | None = 12) -> None:
    with unit_of_work(url) as session:
        earned = points.Earn(
            account_id, amount, f"test:{account_id}:{on}:{amount}", points_expire_on(on, months)
        )
        assert points.earn_many(session, org, [earned], on) == 1


def redeem(url: str, account_id: str, amount: int, reward: str, key: str, on: date) -> str:
    with unit_of_work(url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return redemptions.redeem_points(session, account, amount, reward, key, on).id


def expire(url: str, org: str, on: date) -> tuple[int, int]:
    with unit_of_work(url) as session:
        return points.expire(session, org, on)


@pytest.fixture
def member(database_url: str) -> tuple[str, str]:
    org = make_operator(database_url).organisation_id
    programme(database_url, org, value="1", expiry_months=12)
    return org, make_account(database_url, org)


def test_earn_redeem_expire_and_reverse_with_exact_balances(
    database_url: str, member: tuple[str, str]
) -> None:
    url, (org, acc) = database_url, member
    earn(url, org, acc, 100, date(2025, 1, 10))  # expires 2026-01-10
    earn(url, org, acc, 50, date(2025, 6, 1))  # expires 2026-06-01
    redemption_id = redeem(url, acc, 30, "wallet_credit", "r1", date(2025, 7, 1))
    assert scalar(url, BALANCE, a=acc) == 120
    assert expire(url, org, date(2026, 1, 9)) == (0, 0)
    assert expire(url, org, date(2026, 1, 10)) == (1, 70)  # the first lot's 100, less the 30 used
    assert expire(url, org, date(2026, 1, 10)) == (0, 0)  # once per day
    assert scalar(url, BALANCE, a=acc) == 50
    assert expire(url, org, date(2026, 6, 1)) == (1, 50)
    assert scalar(url, BALANCE, a=acc) == 0
    earn(url, org, acc, 40, date(2026, 6, 2), months=None)
    with engine_for(url).connect() as conn:
        earned = conn.execute(
            sa.text("select id from loyalty_point_movements where account_id = :a and points = 40"),
            {"a": acc},
        ).scalar_one()
    with unit_of_work(url) as session:
        first = points.reverse(session, org, earned, "awarded in error", date(2026, 6, 3)).id
    with unit_of_work(url) as session:
        assert points.reverse(session, org, earned, "again", date(2026, 6, 3)).id == first
    assert scalar(url, BALANCE, a=acc) == 0
    kinds = (
        "select string_agg(kind || ' ' || points, ', ' order by id) from loyalty_point_movements"
        " where account_id = :a"
    )
    assert (
        scalar(url, kinds, a=acc)
        == "earn 100, earn 50, redeem -30, expire -70, expire -50, earn 40, reverse -40"
    )
    with engine_for(url).connect() as conn:
        entry, amount, wallet_tx = conn.execute(
            sa.text(
                "select ledger_entry_id, amount_minor, wallet_transaction_id from loyalty_redemptions"
                " where id = :r"
            ),
            {"r": redemption_id},
        ).one()
    assert amount == 30 and wallet_tx is not None
    assert postings_of(url, entry) == [("marketing:loyalty", None, 30, 0), ("wallet", acc, 0, 30)]
    assert scalar(url, "select balance_minor from wallets where account_id = :a", a=acc) == 30


def test_a_reversal_of_points_already_used_is_refused(database_url: str, member: tuple[str, str]) -> None:
    url, (org, acc) = database_url, member
    earn(url, org, acc, 40, date(2026, 1, 1))
    redeem(url, acc, 10, "wallet_credit", "r2", date(2026, 1, 2))
    earned = scalar(
        url, "select id from loyalty_point_movements where account_id = :a and kind = 'earn'", a=acc
    )
    with pytest.raises(Conflict) as refused, unit_of_work(url) as session:
        points.reverse(session, org, earned, "too late", date(2026, 1, 3))
    assert refused.value.code == "points_insufficient"
    assert scalar(url, BALANCE, a=acc) == 30


def test_a_voucher_redemption_posts_the_expense_and_the_code_tops_up_once(
    database_url: str, member: tuple[str, str]
) -> None:
    url, (org, acc) = database_url, member
    earn(url, org, acc, 500, date(2026, 1, 1))
    redemption_id = redeem(url, acc, 250, "voucher", "v1", date(2026, 1, 2))
    with engine_for(url).connect() as conn:
        entry, code = conn.execute(
            sa.text("select ledger_entry_id, voucher_code from loyalty_redemptions where id = :r"),
            {"r": redemption_id},
        ).one()
    assert postings_of(url, entry) == [("marketing:loyalty", None, 250, 0), ("cash:voucher", None, 0, 250)]
    with unit_of_work(url) as session:
        account = session.get(Account, acc)
        assert account is not None
        _, _, tx = vouchers.redeem(
            session, code=code, account=account, subscription_id=None, today=date(2026, 1, 3)
        )
        top_up = tx.ledger_entry_id
    # The top-up debits the voucher clearing account: expense 250 against the customer's wallet, net.
    assert postings_of(url, top_up or "") == [("cash:voucher", None, 250, 0), ("wallet", acc, 0, 250)]
    assert scalar(url, BALANCE, a=acc) == 250


def test_redeeming_more_than_the_balance_is_refused_and_moves_nothing(
    database_url: str, member: tuple[str, str]
) -> None:
    url, (org, acc) = database_url, member
    earn(url, org, acc, 100, date(2026, 1, 1))
    with pytest.raises(Conflict) as refused:
        redeem(url, acc, 101, "wallet_credit", "big", date(2026, 1, 2))
    assert refused.value.code == "points_insufficient" and refused.value.status == 409
    assert scalar(url, BALANCE, a=acc) == 100
    assert scalar(url, "select count(*) from loyalty_redemptions where account_id = :a", a=acc) == 0
    assert scalar(url, "select count(*) from wallets where account_id = :a", a=acc) == 0


def test_concurrent_redemptions_never_overdraw(database_url: str, member: tuple[str, str]) -> None:
    url, (org, acc) = database_url, member
    earn(url, org, acc, 100, date(2026, 1, 1))

    def attempt(n: int) -> str:
        try:
            redeem(url, acc, 30, "wallet_credit", f"race-{n}", date(2026, 1, 2))
            return "ok"
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(attempt, range(8)))
    assert outcomes == ["ok"] * 3 + ["points_insufficient"] * 5
    assert scalar(url, BALANCE, a=acc) == 10 == scalar(url, SUM, a=acc)
    assert scalar(url, "select balance_minor from wallets where account_id = :a", a=acc) == 90


def test_the_database_refuses_edits_and_overdrafts(database_url: str, member: tuple[str, str]) -> None:
    url, (org, acc) = database_url, member
    earn(url, org, acc, 10, date(2026, 1, 1))
    for sql in (
        "update loyalty_point_balances set balance = 1000 where account_id = :a",
        "update loyalty_point_movements set points = 1000 where account_id = :a",
        "delete from loyalty_point_movements where account_id = :a",
        "insert into loyalty_point_movements (id, organisation_id, account_id, kind, points, occurred_on,"
        " idempotency_key, created_at) values ('lpm_X', :o, :a, 'redeem', -11, '2026-01-02', 'x', now())",
    ):
        with pytest.raises(DBAPIError), engine_for(url).begin() as conn:
            conn.execute(sa.text(sql), {"a": acc, "o": org})
    assert scalar(url, BALANCE, a=acc) == 10


LIFETIME = 90
LAST_EARN = "select max(id) from loyalty_point_movements where account_id = :a and kind = 'earn'"
LAST_EARN_POINTS = (
    "select points from loyalty_point_movements where id = "
    "(select max(id) from loyalty_point_movements where account_id = :a and kind = 'earn')"
)
OPS = st.lists(
    st.tuples(
        st.sampled_from(["earn", "redeem", "expire", "reverse"]), st.integers(1, 60), st.integers(0, 120)
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_the_balance_is_always_the_sum_of_the_movements(
    database_url: str, ops: list[tuple[str, int, int]]
) -> None:
    """Any sequence of earns, redemptions, expiries and reversals: the balance equals the sum of the
    movements, never goes negative, and expiry takes exactly the unused part of the expired lots
    (oldest points used first), as a plain FIFO model of lots computes it."""
    url = database_url
    org = make_operator(url).organisation_id
    programme(url, org, value="1")
    acc = make_account(url, org)
    reversals: set[str] = set()
    lots: list[list[int]] = []  # [expires_on ordinal, remaining] in the order earned (and expiring)
    day = date(2026, 1, 1).toordinal()
    for n, (op, amount, offset) in enumerate(ops):
        day += offset
        today = date.fromordinal(day)
        if op == "earn":
            expires = date.fromordinal(day + LIFETIME)  # one lifetime: lots expire in the order earned
            with unit_of_work(url) as session:
                points.earn_many(session, org, [points.Earn(acc, amount, f"p:{acc}:{n}", expires)], today)
            lots.append([expires.toordinal(), amount])
        elif op == "reverse" and lots:
            earned = scalar(url, LAST_EARN, a=acc)
            balance = sum(lot[1] for lot in lots)
            try:
                with unit_of_work(url) as session:
                    movement = points.reverse(session, org, earned, "test", today)
                if movement.id not in reversals:  # reversing a movement again changes nothing
                    reversals.add(movement.id)
                    _take(lots, -movement.points)
            except Conflict:
                assert scalar(url, LAST_EARN_POINTS, a=acc) > balance
        elif op == "redeem":  # the points past their date expire first (with the redemption, or not at all)
            due = sum(lot[1] for lot in lots if lot[0] <= today.toordinal())
            model_balance = sum(lot[1] for lot in lots) - due
            try:
                redeem(url, acc, amount, "wallet_credit", f"{acc}:{n}", today)
                assert amount <= model_balance
                for lot in lots:
                    if lot[0] <= today.toordinal():
                        lot[1] = 0
                _take(lots, amount)
            except Conflict:
                assert amount > model_balance
        elif op == "expire":
            expired = sum(lot[1] for lot in lots if lot[0] <= today.toordinal())
            assert expire(url, org, today)[1] == expired
            for lot in lots:
                if lot[0] <= today.toordinal():
                    lot[1] = 0
        assert scalar(url, BALANCE + " union all select 0 limit 1", a=acc) == scalar(url, SUM, a=acc)
        assert scalar(url, SUM, a=acc) == sum(lot[1] for lot in lots) >= 0


def _take(lots: list[list[int]], amount: int) -> None:
    """Use ``amount`` points, from the lot that expires first (a reversal too: points are points)."""
    for lot in lots:
        used = min(lot[1], amount)
        lot[1] -= used
        amount -= used


def test_points_past_their_date_are_not_spent_before_the_expiry_run(
    database_url: str, member: tuple[str, str]
) -> None:
    url, (org, acc) = database_url, member
    earn(url, org, acc, 100, date(2025, 1, 10))  # expires 2026-01-10
    earn(url, org, acc, 60, date(2025, 6, 1))  # expires 2026-06-01
    redeem(url, acc, 20, "wallet_credit", "before", date(2026, 1, 9))  # the day before: spendable
    assert scalar(url, BALANCE, a=acc) == 140
    # ten days after the first lot's date, no expiry run since: its 80 unused points are gone first
    with pytest.raises(Conflict) as refused:
        redeem(url, acc, 61, "wallet_credit", "too-many", date(2026, 1, 20))
    assert refused.value.code == "points_insufficient"
    assert scalar(url, BALANCE, a=acc) == 140  # nothing moved: the refused transaction expired nothing
    redeem(url, acc, 60, "voucher", "after", date(2026, 1, 20))
    assert scalar(url, BALANCE, a=acc) == 0
    kinds = (
        "select string_agg(kind || ' ' || points, ', ' order by id) from loyalty_point_movements"
        " where account_id = :a"
    )
    assert scalar(url, kinds, a=acc) == "earn 100, earn 60, redeem -20, expire -80, redeem -60"
    assert expire(url, org, date(2026, 1, 20)) == (0, 0)  # the day's run: already done for this account
    assert expire(url, org, date(2026, 6, 1)) == (0, 0)  # the second lot was spent
    assert scalar(url, SUM, a=acc) == scalar(url, BALANCE, a=acc) == 0
    told = "select count(*) from business_events where type = 'loyalty.points_expired' and object_id = :a"
    assert scalar(url, told, a=acc) == 1
