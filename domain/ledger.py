"""Double-entry bookkeeping: every money movement is a balanced journal entry (pure).

Ledger accounts are named strings: ``receivable`` (what customers owe; per customer), ``revenue:<kind>``,
``tax:<rate code>``, ``customer_credit`` (overpayments and unapplied credit), ``cash:<method>``,
``wallet`` (prepaid balances), ``bad_debt``, ``partner_cost:<provider>`` and
``partner_payable:<provider>`` (a partner's charges and what is owed to it, see partner settlements).
Debits increase assets and expenses; credits increase
revenue, liabilities and tax payable. A customer's balance is receivable debits minus credits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from domain.money import PricingError

RECEIVABLE = "receivable"
PARTNER_PAYABLE = "partner_payable"
"""What the operator owes a partner provider (``partner_payable:<provider>``), a liability."""


@dataclass(frozen=True)
class Posting:
    ledger_account: str
    debit_minor: int
    credit_minor: int
    currency: str
    customer_id: str | None = None


def side(
    ledger_account: str, amount_minor: int, currency: str, *, debit: bool, customer_id: str | None = None
) -> Posting | None:
    """A posting of ``amount_minor`` on the given side; a negative amount lands on the other side."""
    if amount_minor == 0:
        return None
    if amount_minor < 0:
        debit, amount_minor = not debit, -amount_minor
    return Posting(
        ledger_account, amount_minor if debit else 0, 0 if debit else amount_minor, currency, customer_id
    )


def check_balanced(postings: Iterable[Posting]) -> list[Posting]:
    """The postings, if debits equal credits in every currency (else a PricingError naming the gap)."""
    rows = list(postings)
    totals: dict[str, int] = defaultdict(int)
    for posting in rows:
        totals[posting.currency] += posting.debit_minor - posting.credit_minor
    unbalanced = {currency: gap for currency, gap in totals.items() if gap}
    if unbalanced:
        raise PricingError("ledger_unbalanced", f"debits and credits differ: {unbalanced}")
    if not rows:
        raise PricingError("ledger_empty", "a journal entry needs postings")
    return rows


def invoice_entry(
    customer_id: str, currency: str, revenue: dict[str, int], taxes: dict[str, int]
) -> list[Posting]:
    """An invoice: the customer owes the total; revenue per kind and tax per rate are earned/payable."""
    total = sum(revenue.values()) + sum(taxes.values())
    postings = [side(RECEIVABLE, total, currency, debit=True, customer_id=customer_id)]
    postings += [
        side(f"revenue:{kind}", amount, currency, debit=False) for kind, amount in sorted(revenue.items())
    ]
    postings += [side(f"tax:{code}", amount, currency, debit=False) for code, amount in sorted(taxes.items())]
    return check_balanced(p for p in postings if p is not None)


def credit_note_entry(
    customer_id: str, currency: str, revenue: dict[str, int], taxes: dict[str, int]
) -> list[Posting]:
    """A credit note reverses revenue and tax and reduces what the customer owes."""
    return invoice_entry(
        customer_id, currency, {k: -v for k, v in revenue.items()}, {k: -v for k, v in taxes.items()}
    )


def payment_entry(customer_id: str, currency: str, amount_minor: int, method: str) -> list[Posting]:
    """Money received: cash (or the gateway's clearing account) up, the customer's debt down."""
    postings = [
        side(f"cash:{method}", amount_minor, currency, debit=True),
        side(RECEIVABLE, amount_minor, currency, debit=False, customer_id=customer_id),
    ]
    return check_balanced(p for p in postings if p is not None)


def refund_entry(customer_id: str, currency: str, amount_minor: int, method: str) -> list[Posting]:
    return payment_entry(customer_id, currency, -amount_minor, method)


def write_off_entry(customer_id: str, currency: str, amount_minor: int) -> list[Posting]:
    postings = [
        side("bad_debt", amount_minor, currency, debit=True),
        side(RECEIVABLE, amount_minor, currency, debit=False, customer_id=customer_id),
    ]
    return check_balanced(p for p in postings if p is not None)


def partner_settlement_entry(
    provider: str, currency: str, charged_minor: int, operator_share_minor: int
) -> list[Posting]:
    """A month's partner statement: the partner's accepted charges are a cost (``partner_cost:<provider>``)
    of which the operator keeps its share as revenue (``revenue:partner_share``) and owes the rest to the
    partner (``partner_payable:<provider>``)."""
    postings = [
        side(f"partner_cost:{provider}", charged_minor, currency, debit=True),
        side(f"{PARTNER_PAYABLE}:{provider}", charged_minor - operator_share_minor, currency, debit=False),
        side("revenue:partner_share", operator_share_minor, currency, debit=False),
    ]
    return check_balanced(p for p in postings if p is not None)


def balance(postings: Iterable[Posting], customer_id: str) -> dict[str, int]:
    """What a customer owes per currency (negative: in credit)."""
    owed: dict[str, int] = defaultdict(int)
    for posting in postings:
        if posting.ledger_account == RECEIVABLE and posting.customer_id == customer_id:
            owed[posting.currency] += posting.debit_minor - posting.credit_minor
    return dict(owed)
