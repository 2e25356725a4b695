"""Writing journal entries: one entry per business event, once per idempotency key."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from domain.ids import new_id
from domain.ledger import Posting, check_balanced
from models.billing import LedgerEntry, LedgerPosting


def post_entry(
    session: Session,
    *,
    organisation_id: str,
    customer_id: str | None,
    kind: str,
    source_id: str,
    currency: str,
    booked_on: date,
    postings: list[Posting],
    key: str,
    memo: str | None = None,
) -> str:
    """Record a balanced entry (all postings in one statement, as the database's balance check needs).

    Returns the entry id; a second call with the same key returns the first entry and writes nothing.
    """
    check_balanced(postings)
    entry_id = new_id("jrn")
    created = session.execute(
        pg_insert(LedgerEntry)
        .values(
            id=entry_id,
            organisation_id=organisation_id,
            account_id=customer_id,
            kind=kind,
            source_id=source_id,
            currency=currency,
            booked_on=booked_on,
            memo=memo,
            idempotency_key=key,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(LedgerEntry.id)
    ).first()
    if created is None:
        return str(
            session.execute(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == key)).scalar_one()
        )
    insert_postings(session, [(entry_id, p) for p in postings], booked_on=booked_on)
    return entry_id


def insert_postings(session: Session, rows: list[tuple[str, Posting]], booked_on: date | None = None) -> None:
    """All postings in ONE statement: the database checks each entry's balance per statement.

    Each posting carries its entry's ``booked_on`` (the month partition it lands in); when the caller
    does not pass it, it is read from the entries."""
    if rows:
        if booked_on is None:
            entry_ids = {entry_id for entry_id, _ in rows}
            found = session.execute(
                select(LedgerEntry.id, LedgerEntry.booked_on).where(LedgerEntry.id.in_(entry_ids))
            ).all()
            booked = {entry_id: day for entry_id, day in found}
        session.execute(
            insert(LedgerPosting).values(
                [
                    {
                        "entry_id": entry_id,
                        "booked_on": booked_on if booked_on is not None else booked.get(entry_id),
                        "ledger_account": p.ledger_account,
                        "customer_id": p.customer_id,
                        "debit_minor": p.debit_minor,
                        "credit_minor": p.credit_minor,
                        "currency": p.currency,
                    }
                    for entry_id, p in rows
                ]
            )
        )
