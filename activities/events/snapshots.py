"""The ``data`` of business events: compact snapshots of objects as the API shows them.

Each snapshot carries the object's id, status and amounts (integer minor units with their currency);
``account_organisation`` is the organisation an event about an account's object belongs to, so a
partner sees the events of its own accounts (``GET /v1/events`` filters by organisation subtree).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from models.accounts import Account
from models.billing import CreditNote, Invoice
from models.payments import Payment
from models.subscriptions import Subscription
from models.wallets import Wallet


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def account_organisation(session: Session, account_id: str) -> str:
    """The organisation the account belongs to (from the session's identity map when loaded)."""
    account = session.get(Account, account_id)
    assert account is not None, account_id
    return account.organisation_id


def account_data(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "organisation_id": account.organisation_id,
        "type": account.type,
        "status": account.status,
        "display_name": account.display_name,
        "email": account.email,
        "currency": account.currency,
        "verification_status": account.verification_status,
        "version": account.version,
    }


def subscription_data(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "account_id": sub.account_id,
        "organisation_id": sub.organisation_id,
        "status": sub.status,
        "currency": sub.currency,
        "bill_day": sub.bill_day,
        "start_date": _iso(sub.start_date),
        "end_date": _iso(sub.end_date),
        "version": sub.version,
    }


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    return invoice_row_data(
        {
            "id": invoice.id,
            "organisation_id": invoice.organisation_id,
            "account_id": invoice.account_id,
            "number": invoice.number,
            "status": invoice.status,
            "currency": invoice.currency,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "net_minor": invoice.net_minor,
            "tax_minor": invoice.tax_minor,
            "total_minor": invoice.total_minor,
            "paid_minor": invoice.paid_minor,
            "billing_run_id": invoice.billing_run_id,
        }
    )


INVOICE_FIELDS = (
    "id",
    "organisation_id",
    "account_id",
    "number",
    "status",
    "currency",
    "net_minor",
    "tax_minor",
    "total_minor",
    "paid_minor",
    "billing_run_id",
)


def invoice_row_data(row: dict[str, Any]) -> dict[str, Any]:
    """An invoice's snapshot from its row as a bill run writes it (a dict of columns)."""
    data = {name: row[name] for name in INVOICE_FIELDS}
    data["issue_date"], data["due_date"] = _iso(row["issue_date"]), _iso(row["due_date"])
    return data


def credit_note_data(note: CreditNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "organisation_id": note.organisation_id,
        "account_id": note.account_id,
        "invoice_id": note.invoice_id,
        "number": note.number,
        "reason": note.reason,
        "currency": note.currency,
        "issue_date": _iso(note.issue_date),
        "net_minor": note.net_minor,
        "tax_minor": note.tax_minor,
        "total_minor": note.total_minor,
    }


def payment_data(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "account_id": payment.account_id,
        "invoice_id": payment.invoice_id,
        "kind": payment.kind,
        "status": payment.status,
        "amount_minor": payment.amount_minor,
        "refunded_minor": payment.refunded_minor,
        "currency": payment.currency,
        "gateway": payment.gateway,
        "decline_code": payment.decline_code,
    }


def wallet_data(wallet: Wallet) -> dict[str, Any]:
    return {
        "id": wallet.id,
        "account_id": wallet.account_id,
        "currency": wallet.currency,
        "balance_minor": wallet.balance_minor,
        "low_balance_threshold_minor": wallet.low_balance_threshold_minor,
    }
