"""Balances from the ledger: an account's statement and balance, and the operator's trial balance.

The statement lists the journal entries that moved the customer's receivable, oldest first (entry ids
sort by creation), each with its signed amount and the running balance in its currency; the running
balance is computed over the whole history, so every page shows true balances.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.shared.pagination import decode_cursor, encode_cursor
from api.deps import AdminDep, SessionDep, StaffDep
from api.schemas.common import Page
from api.schemas.invoices import AccountBalance, StatementLine, TrialBalance
from domain.ledger import RECEIVABLE
from domain.principal import Principal
from models.billing import LedgerEntry, LedgerPosting
from models.organisations import Organisation

router = APIRouter(tags=["ledger"])


def _statement(
    session: Session, account_id: str, currency: str | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    amount = func.sum(LedgerPosting.debit_minor - LedgerPosting.credit_minor)
    per_entry = (
        select(
            LedgerEntry.id.label("entry_id"),
            LedgerEntry.kind,
            LedgerEntry.source_id,
            LedgerEntry.booked_on,
            LedgerEntry.memo,
            LedgerPosting.currency,
            amount.label("amount_minor"),
            func.sum(amount)
            .over(partition_by=LedgerPosting.currency, order_by=LedgerEntry.id)
            .label("balance_minor"),
        )
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .where(LedgerPosting.ledger_account == RECEIVABLE, LedgerPosting.customer_id == account_id)
        .group_by(LedgerEntry.id, LedgerPosting.currency)
    )
    if currency is not None:
        per_entry = per_entry.where(LedgerPosting.currency == currency)
    history = per_entry.subquery()
    stmt = select(history)
    if cursor:
        stmt = stmt.where(history.c.entry_id > decode_cursor(cursor, "jrn"))
    rows = [dict(row._mapping) for row in session.execute(stmt.order_by(history.c.entry_id).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["entry_id"]) if more and rows else None


@router.get(
    "/v1/accounts/{account_id}/statement",
    response_model=Page[StatementLine],
    summary="Ledger entries of the account's receivable with a running balance per currency",
)
def statement(
    account_id: str,
    principal: StaffDep,
    session: SessionDep,
    currency: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    visible_account(session, principal, account_id)
    rows, next_cursor = _statement(session, account_id, currency, cursor, limit)
    data = [StatementLine.model_validate(row).model_dump(mode="json") for row in rows]
    return {"data": data, "next_cursor": next_cursor, "has_more": next_cursor is not None}


def receivables(session: Session, account_id: str) -> dict[str, int]:
    """What the customer owes per currency (negative: in credit), from the ledger."""
    stmt = (
        select(LedgerPosting.currency, func.sum(LedgerPosting.debit_minor - LedgerPosting.credit_minor))
        .where(LedgerPosting.ledger_account == RECEIVABLE, LedgerPosting.customer_id == account_id)
        .group_by(LedgerPosting.currency)
        .order_by(LedgerPosting.currency)
    )
    return {str(currency): int(total) for currency, total in session.execute(stmt)}


@router.get(
    "/v1/accounts/{account_id}/balance",
    response_model=AccountBalance,
    summary="What the account owes per currency (receivable from the ledger; negative: in credit)",
)
def balance(account_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    visible_account(session, principal, account_id)
    owed = receivables(session, account_id)
    return {
        "account_id": account_id,
        "balances": [{"currency": c, "amount_minor": a} for c, a in owed.items()],
    }


def trial_balance(session: Session, principal: Principal) -> dict[str, Any]:
    stmt = (
        select(
            LedgerPosting.ledger_account,
            LedgerPosting.currency,
            func.sum(LedgerPosting.debit_minor),
            func.sum(LedgerPosting.credit_minor),
        )
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .join(Organisation, Organisation.id == LedgerEntry.organisation_id)
        .where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
        .group_by(LedgerPosting.ledger_account, LedgerPosting.currency)
        .order_by(LedgerPosting.currency, LedgerPosting.ledger_account)
    )
    rows = []
    totals: dict[str, int] = {}
    for ledger_account, currency, debit, credit in session.execute(stmt):
        rows.append(
            {
                "ledger_account": ledger_account,
                "currency": currency,
                "debit_minor": int(debit),
                "credit_minor": int(credit),
                "balance_minor": int(debit) - int(credit),
            }
        )
        totals[currency] = totals.get(currency, 0) + int(debit) - int(credit)
    return {"rows": rows, "totals": [{"currency": c, "amount_minor": a} for c, a in sorted(totals.items())]}


@router.get(
    "/v1/ledger/trial-balance",
    response_model=TrialBalance,
    summary="Debits and credits per ledger account and currency in your subtree (nets to zero)",
)
def get_trial_balance(principal: AdminDep, session: SessionDep) -> dict[str, Any]:
    return trial_balance(session, principal)
