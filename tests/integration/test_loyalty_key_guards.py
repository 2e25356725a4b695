"""The loyalty tables' keys, checked once per statement (migration 0047) instead of per-row foreign keys:
a row naming an account, rule or run that does not exist fails its statement with SQLSTATE 23503 (what
a foreign key raises) and writes nothing, on insert and on update, however many rows the statement has;
deleting an account, rule or run that loyalty rows name fails the same way, an unnamed one can go;
their ids never change."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from psycopg2 import errors
from sqlalchemy.exc import DBAPIError

from models.base import engine_for
from tests.support.billing_factory import make_account
from tests.support.factories import make_operator
from tests.support.loyalty_support import award_period, customer, programme, rule, scalar

TENURE = {"criterion": {"kind": "maturity", "months_active": 12}, "award": {"kind": "points", "points": 100}}


@pytest.fixture
def awarded_operator(database_url: str) -> dict[str, str]:
    """An operator whose one account got one award (and its movement and balance) in one run."""
    org = make_operator(database_url).organisation_id
    programme(database_url, org)
    who = customer(database_url, org, since=date(2024, 1, 15))
    rule_id = rule(database_url, org, "tenure", TENURE)
    run_id = award_period(database_url, org)
    return {"org": org, "account": who.account_id, "rule": rule_id, "run": run_id}


def _fails_with_key_violation(url: str, sql: str, **params: object) -> str:
    with pytest.raises(DBAPIError) as caught, engine_for(url).begin() as conn:
        conn.execute(sa.text(sql), params)
    assert isinstance(caught.value.orig, errors.ForeignKeyViolation), caught.value
    return str(caught.value.orig)


AWARD = (
    "insert into loyalty_awards (id, organisation_id, rule_id, account_id, period_key, run_id, kind, points,"
    " status, created_at) select 'law_guard' || g, :org, :rule, case when g = :bad_at then :bad else :account"
    " end, 'p' || g, :run, 'points', 1, 'pending', now() from generate_series(1, 500) g"
)


@pytest.mark.parametrize("column", ["account", "rule", "run"])
def test_an_award_naming_a_missing_row_fails_its_whole_statement(
    database_url: str, awarded_operator: dict[str, str], column: str
) -> None:
    before = scalar(database_url, "select count(*) from loyalty_awards")
    values: dict[str, object] = dict(awarded_operator)
    if column == "account":  # one bad row among 500
        values |= {"bad_at": 250, "bad": "acc_missing000000000000000000"}
    else:  # one value for the whole statement
        values |= {"bad_at": 0, "bad": None, column: "nope_0000000000000000000000000"}
    message = _fails_with_key_violation(database_url, AWARD, **values)
    assert f'"{column}_id"' in message
    assert scalar(database_url, "select count(*) from loyalty_awards") == before


def test_an_update_to_a_missing_row_fails(database_url: str, awarded_operator: dict[str, str]) -> None:
    message = _fails_with_key_violation(
        database_url,
        "update loyalty_awards set rule_id = 'lrl_missing' where account_id = :account",
        account=awarded_operator["account"],
    )
    assert "lrl_missing" in message
    assert (
        scalar(
            database_url,
            "select rule_id from loyalty_awards where account_id = :a",
            a=awarded_operator["account"],
        )
        == awarded_operator["rule"]
    )


def test_movements_and_balances_name_existing_accounts(
    database_url: str, awarded_operator: dict[str, str]
) -> None:
    _fails_with_key_violation(
        database_url,
        "insert into loyalty_point_movements (id, organisation_id, account_id, kind, points, occurred_on,"
        " idempotency_key, created_at)"
        " values ('lpm_guard', :org, 'acc_missing', 'earn', 5, :on, 'guard', now())",
        org=awarded_operator["org"],
        on=date(2026, 11, 1),
    )
    assert scalar(database_url, "select count(*) from loyalty_point_movements where id = 'lpm_guard'") == 0
    assert (
        scalar(database_url, "select count(*) from loyalty_point_balances where account_id = 'acc_missing'")
        == 0
    )


@pytest.mark.parametrize(
    ("table", "key"), [("accounts", "account"), ("loyalty_rules", "rule"), ("loyalty_runs", "run")]
)
def test_a_named_row_cannot_be_deleted_nor_its_id_changed(
    database_url: str, awarded_operator: dict[str, str], table: str, key: str
) -> None:
    row = awarded_operator[key]
    if table == "accounts":  # an account only loyalty rows name (no subscription's foreign key in the way)
        row = make_account(database_url, awarded_operator["org"])
        with engine_for(database_url).begin() as conn:
            conn.execute(
                sa.text(
                    "insert into loyalty_point_movements (id, organisation_id, account_id, kind, points,"
                    " occurred_on, idempotency_key, created_at) values ('lpm_named', :org, :a, 'earn', 5,"
                    " date '2026-11-01', 'named', now())"
                ),
                {"org": awarded_operator["org"], "a": row},
            )
    message = _fails_with_key_violation(database_url, f"delete from {table} where id = :id", id=row)  # noqa: S608
    assert row in message
    assert "loyalty_" in message.split("DETAIL")[-1]
    _fails_with_key_violation(database_url, f"update {table} set id = 'x' || id where id = :id", id=row)  # noqa: S608
    assert scalar(database_url, f"select count(*) from {table} where id = :id", id=row) == 1  # noqa: S608


def test_an_unnamed_rule_can_be_deleted(database_url: str, awarded_operator: dict[str, str]) -> None:
    spare = rule(database_url, awarded_operator["org"], "spare", TENURE)
    with engine_for(database_url).begin() as conn:
        assert conn.execute(sa.text("delete from loyalty_rules where id = :id"), {"id": spare}).rowcount == 1


def test_the_period_still_awards_through_the_guards(
    database_url: str, awarded_operator: dict[str, str]
) -> None:
    """The fixture's run went through the guarded tables: one award, its movement, its balance."""
    account = awarded_operator["account"]
    assert scalar(database_url, "select count(*) from loyalty_awards where account_id = :a", a=account) == 1
    assert (
        scalar(database_url, "select balance from loyalty_point_balances where account_id = :a", a=account)
        == 100
    )


def test_an_event_naming_no_organisation_fails_and_an_organisation_keeps_its_id(
    database_url: str, awarded_operator: dict[str, str]
) -> None:
    """business_events' organisation key is guarded per statement too (migration 0048)."""
    message = _fails_with_key_violation(
        database_url,
        "insert into business_events (id, type, organisation_id, object_type, object_id, data, api_version,"
        " occurred_at) select 'evt_guard' || g, 'loyalty.awarded',"
        " case when g = 3 then 'org_missing' else :org end, 'account', 'acc', '{}', '2026-11-01', now()"
        " from generate_series(1, 5) g",
        org=awarded_operator["org"],
    )
    assert "org_missing" in message
    assert scalar(database_url, "select count(*) from business_events where id like 'evt_guard%'") == 0
    _fails_with_key_violation(
        database_url, "update organisations set id = 'org_renamed' where id = :id", id=awarded_operator["org"]
    )
