"""The database itself keeps the ledger honest: balanced per INSERT statement, never updated or deleted."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from activities.shared.ledger import insert_postings, post_entry
from domain.ids import new_id
from domain.ledger import Posting, invoice_entry
from models.base import unit_of_work
from models.billing import LedgerEntry, LedgerPosting
from tests.support.factories import Tenant


def _entry(session: sa.orm.Session, organisation_id: str) -> str:
    entry_id = new_id("jrn")
    session.add(
        LedgerEntry(
            id=entry_id,
            organisation_id=organisation_id,
            account_id=None,
            kind="invoice",
            source_id="test",
            currency="EUR",
            booked_on=date(2026, 1, 1),
            idempotency_key=f"test:{entry_id}",
        )
    )
    session.flush()
    return entry_id


def _posted(database_url: str, operator: Tenant) -> str:
    with unit_of_work(database_url) as session:
        return post_entry(
            session,
            organisation_id=operator.organisation_id,
            customer_id="acc_x",
            kind="invoice",
            source_id="inv_x",
            currency="EUR",
            booked_on=date(2026, 1, 1),
            key=f"test:{new_id('jrn')}",
            postings=invoice_entry("acc_x", "EUR", {"video": 1000}, {"ES-standard": 210}),
        )


def _count(database_url: str, entry_id: str) -> int:
    with unit_of_work(database_url) as session:
        stmt = sa.select(sa.func.count()).select_from(LedgerPosting).where(LedgerPosting.entry_id == entry_id)
        return int(session.execute(stmt).scalar_one())


def test_an_unbalanced_insert_is_refused(database_url: str, operator: Tenant) -> None:
    with pytest.raises(DBAPIError, match="unbalanced"), unit_of_work(database_url) as session:
        entry_id = _entry(session, operator.organisation_id)
        insert_postings(
            session,
            [
                (entry_id, Posting("receivable", 1000, 0, "EUR", "acc_x")),
                (entry_id, Posting("revenue:video", 0, 999, "EUR")),
            ],
        )


def test_postings_split_over_two_statements_are_refused(database_url: str, operator: Tenant) -> None:
    with pytest.raises(DBAPIError, match="unbalanced"), unit_of_work(database_url) as session:
        entry_id = _entry(session, operator.organisation_id)
        insert_postings(session, [(entry_id, Posting("receivable", 1000, 0, "EUR", "acc_x"))])
        insert_postings(session, [(entry_id, Posting("revenue:video", 0, 1000, "EUR"))])


def test_balance_is_per_currency(database_url: str, operator: Tenant) -> None:
    with pytest.raises(DBAPIError, match="unbalanced"), unit_of_work(database_url) as session:
        entry_id = _entry(session, operator.organisation_id)
        insert_postings(
            session,
            [
                (entry_id, Posting("receivable", 1000, 0, "EUR", "acc_x")),
                (entry_id, Posting("revenue:video", 0, 1000, "USD")),
            ],
        )


def test_a_posting_has_exactly_one_positive_side(database_url: str, operator: Tenant) -> None:
    with pytest.raises(DBAPIError, match="one_side"), unit_of_work(database_url) as session:
        entry_id = _entry(session, operator.organisation_id)
        insert_postings(
            session,
            [(entry_id, Posting("receivable", 500, 500, "EUR", "acc_x"))],
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_postings SET debit_minor = debit_minor + 1 WHERE entry_id = :id AND debit_minor > 0",
        "DELETE FROM ledger_postings WHERE entry_id = :id",
        "UPDATE ledger_entries SET memo = 'edited' WHERE id = :id",
        "DELETE FROM ledger_entries WHERE id = :id",
    ],
)
def test_the_ledger_is_append_only(database_url: str, operator: Tenant, statement: str) -> None:
    entry_id = _posted(database_url, operator)
    with pytest.raises(DBAPIError, match="append-only"), unit_of_work(database_url) as session:
        session.execute(sa.text(statement), {"id": entry_id})
    assert _count(database_url, entry_id) == 3


def test_post_entry_is_idempotent_per_key(database_url: str, operator: Tenant) -> None:
    key = f"test:{new_id('jrn')}"
    ids = []
    for _ in range(2):
        with unit_of_work(database_url) as session:
            ids.append(
                post_entry(
                    session,
                    organisation_id=operator.organisation_id,
                    customer_id="acc_x",
                    kind="payment",
                    source_id="pay_x",
                    currency="EUR",
                    booked_on=date(2026, 1, 1),
                    key=key,
                    postings=[
                        Posting("cash:card", 700, 0, "EUR"),
                        Posting("receivable", 0, 700, "EUR", "acc_x"),
                    ],
                )
            )
    assert ids[0] == ids[1]
    assert _count(database_url, ids[0]) == 2
