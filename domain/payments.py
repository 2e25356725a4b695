"""Payment rules (pure): allocation to invoices, overpayment, refunds and the resulting states.

Amounts are integer minor units. A payment is allocated to open invoices oldest first (by issue date,
then id) or in the order the payer chose; whatever is left is account credit. A refund may not exceed
what was paid minus what was already refunded; it takes back account credit first, then the newest
allocations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.errors import RuleViolation

PAYABLE_INVOICE_STATES = frozenset({"issued", "partially_paid", "overdue"})


@dataclass(frozen=True)
class OpenInvoice:
    invoice_id: str
    currency: str
    open_minor: int
    issue_date: date
    status: str = "issued"


@dataclass(frozen=True)
class Allocation:
    invoice_id: str
    amount_minor: int


@dataclass(frozen=True)
class AllocationPlan:
    allocations: tuple[Allocation, ...]
    unallocated_minor: int  # overpayment: account credit

    @property
    def allocated_minor(self) -> int:
        return sum(a.amount_minor for a in self.allocations)


def check_currency(expected: str, actual: str, *, what: str = "payment") -> None:
    if expected != actual:
        raise RuleViolation(
            "currency_mismatch",
            f"the {what} is in {actual} but the account is billed in {expected}",
            field="currency",
        )


def open_amount(total_minor: int, paid_minor: int, credited_minor: int = 0) -> int:
    """What an invoice still owes (never negative)."""
    return max(0, total_minor - paid_minor - credited_minor)


def allocate(
    amount_minor: int,
    currency: str,
    invoices: Sequence[OpenInvoice],
    chosen: Sequence[str] | None = None,
) -> AllocationPlan:
    """Spread a payment over invoices: oldest first, or in the ``chosen`` order; the rest is credit."""
    if amount_minor <= 0:
        raise RuleViolation("invalid_amount", "a payment must be positive", field="amount_minor")
    by_id = {inv.invoice_id: inv for inv in invoices}
    if chosen is not None:
        if len(set(chosen)) != len(chosen):
            raise RuleViolation("duplicate_invoice", "an invoice is named twice", field="invoice_ids")
        missing = [i for i in chosen if i not in by_id]
        if missing:
            raise RuleViolation(
                "invoice_not_payable",
                f"invoice {missing[0]} is not open on this account",
                field="invoice_ids",
            )
        ordered = [by_id[i] for i in chosen]
    else:
        ordered = sorted(invoices, key=lambda inv: (inv.issue_date, inv.invoice_id))
    for inv in ordered:
        check_currency(inv.currency, currency, what=f"payment for invoice {inv.invoice_id}")
    remaining = amount_minor
    allocations: list[Allocation] = []
    for inv in ordered:
        if remaining == 0:
            break
        if inv.status not in PAYABLE_INVOICE_STATES or inv.open_minor <= 0:
            if chosen is not None:
                raise RuleViolation(
                    "invoice_not_payable", f"invoice {inv.invoice_id} is {inv.status}", field="invoice_ids"
                )
            continue
        share = min(remaining, inv.open_minor)
        allocations.append(Allocation(inv.invoice_id, share))
        remaining -= share
    return AllocationPlan(tuple(allocations), remaining)


def invoice_status_after(status: str, total_minor: int, paid_minor: int, credited_minor: int = 0) -> str:
    """An invoice's status once ``paid_minor`` (all payments so far) is known."""
    if status not in PAYABLE_INVOICE_STATES and status != "paid":
        return status
    if paid_minor > 0 and open_amount(total_minor, paid_minor, credited_minor) == 0:
        return "paid"
    if paid_minor > 0:
        return "partially_paid"
    return "overdue" if status == "overdue" else "issued"


def refundable(amount_minor: int, refunded_minor: int) -> int:
    return max(0, amount_minor - refunded_minor)


def check_refund(amount_minor: int, refunded_minor: int, requested_minor: int, status: str) -> None:
    """Refuse a refund of nothing, of a payment that did not succeed, or above what is left."""
    if requested_minor <= 0:
        raise RuleViolation("invalid_amount", "a refund must be positive", field="amount_minor")
    if status not in ("succeeded", "partially_refunded"):
        raise RuleViolation("payment_not_refundable", f"a {status} payment cannot be refunded")
    left = refundable(amount_minor, refunded_minor)
    if requested_minor > left:
        raise RuleViolation(
            "refund_exceeds_payment",
            f"at most {left} (minor units) of this payment can still be refunded; asked {requested_minor}",
            field="amount_minor",
        )


def payment_status_after_refund(amount_minor: int, refunded_minor: int) -> str:
    if refunded_minor <= 0:
        return "succeeded"
    return "refunded" if refunded_minor >= amount_minor else "partially_refunded"


def unwind_refund(
    refund_minor: int, unallocated_minor: int, allocations: Sequence[Allocation]
) -> tuple[int, list[Allocation]]:
    """Which money a refund takes back: account credit first, then allocations newest first.

    ``allocations`` are the payment's live allocations (amount still applied), oldest first. Returns
    the amount taken from credit and the amounts taken back from each invoice.
    """
    from_credit = min(refund_minor, unallocated_minor)
    remaining = refund_minor - from_credit
    taken: list[Allocation] = []
    for alloc in reversed(allocations):
        if remaining == 0:
            break
        share = min(remaining, alloc.amount_minor)
        if share:
            taken.append(Allocation(alloc.invoice_id, share))
            remaining -= share
    if remaining:
        raise RuleViolation("refund_exceeds_payment", "the refund is larger than what the payment applied")
    return from_credit, taken


def collection_key(invoice_id: str, attempt: int) -> str:
    """The idempotency key of a collection attempt: the same key twice is one charge."""
    return f"{invoice_id}:attempt:{attempt}"
