"""Gapless document numbers per issuing organisation and series.

A number is ``<SERIES>-<n>`` with ``n`` zero-padded to at least six digits: ``INV-000001``,
``CN-000042``, ``INV-1234567`` once the series passes 999,999. Series in use: ``INV`` (invoices) and
``CN`` (credit notes); each issuing organisation counts every series on its own from 1.

Gapless because the counter is a row (``invoice_sequences``) updated inside the caller's
transaction: the UPDATE takes the row lock, so a concurrent transaction numbering in the same
series waits until this one commits (and then continues after our numbers) or rolls back (and then
reuses them). Keep the numbering transaction short: allocate right before inserting the documents.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.errors import RuleViolation
from models.billing import InvoiceSequence

INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"
NUMBER_DIGITS = 6


def format_number(series: str, number: int) -> str:
    """``INV-000001``: the series, a dash, the number zero-padded to six digits (never truncated)."""
    return f"{series}-{number:0{NUMBER_DIGITS}d}"


def allocate_numbers(session: Session, organisation_id: str, series: str, count: int) -> list[str]:
    """The next ``count`` numbers of ``series`` for ``organisation_id``, in order, without gaps.

    Holds the sequence row's lock until the caller's transaction ends; a rollback returns the numbers.
    """
    if count < 0:
        raise RuleViolation("invalid_count", f"cannot allocate {count} numbers")
    if not series or not series.isalnum() or not series.isupper():
        raise RuleViolation("invalid_series", f"{series!r} is not a series such as INV or CN")
    if count == 0:
        return []
    session.execute(
        insert(InvoiceSequence)
        .values(organisation_id=organisation_id, series=series, next_number=1)
        .on_conflict_do_nothing(index_elements=["organisation_id", "series"])
    )
    next_number = session.execute(
        update(InvoiceSequence)
        .where(InvoiceSequence.organisation_id == organisation_id, InvoiceSequence.series == series)
        .values(next_number=InvoiceSequence.next_number + count)
        .returning(InvoiceSequence.next_number)
    ).scalar_one()
    first = int(next_number) - count
    return [format_number(series, n) for n in range(first, first + count)]


__all__ = ["CREDIT_NOTE_SERIES", "INVOICE_SERIES", "allocate_numbers", "format_number"]
