"""eWallet rules (pure): whether a wallet pays a period, low-balance crossings, and the ledger postings.

Ledger accounts: ``wallet`` holds prepaid balances (a liability to the customer, per customer);
money comes in through ``cash:<method>`` (``cash:card``/``cash:<gateway>``, ``cash:cash``,
``cash:voucher``); service consumed from the wallet is earned as ``revenue:<kind>``; an invoice paid from
the wallet moves the balance to the paying gateway's clearing account (``cash:wallet`` or
``cash:voucher``), which the payment entry then settles against the receivable.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.ledger import Posting, check_balanced, side

WALLET = "wallet"


@dataclass(frozen=True)
class FundingCheck:
    """Can a prepaid subscription's next period be paid from the wallet?"""

    balance_minor: int
    price_minor: int

    @property
    def covered(self) -> bool:
        return self.balance_minor >= self.price_minor

    @property
    def shortfall_minor(self) -> int:
        return max(0, self.price_minor - self.balance_minor)


def suspend_at_period_end(balance_minor: int, next_period_price_minor: int) -> bool:
    """A prepaid service whose wallet cannot pay the next period is suspended when this one ends.

    A free period (price 0) never suspends; a balance that covers the price exactly is enough.
    """
    return not FundingCheck(balance_minor, next_period_price_minor).covered


def crossed_below(threshold_minor: int, before_minor: int, after_minor: int) -> bool:
    """True when a movement takes the balance from at or above the threshold to below it."""
    return threshold_minor > 0 and before_minor >= threshold_minor > after_minor


def apply_debit(balance_minor: int, amount_minor: int) -> int | None:
    """The balance after debiting ``amount_minor``, or None when the wallet cannot pay it (no overdraft)."""
    if amount_minor <= 0:
        raise ValueError("a wallet debit is a positive amount")
    after = balance_minor - amount_minor
    return after if after >= 0 else None


def _entry(*postings: Posting | None) -> list[Posting]:
    return check_balanced(p for p in postings if p is not None)


def top_up_entry(customer_id: str, currency: str, amount_minor: int, method: str) -> list[Posting]:
    """Money in: the cash (or gateway clearing) account up, the customer's wallet balance up."""
    return _entry(
        side(f"cash:{method}", amount_minor, currency, debit=True),
        side(WALLET, amount_minor, currency, debit=False, customer_id=customer_id),
    )


def service_debit_entry(customer_id: str, currency: str, revenue: dict[str, int]) -> list[Posting]:
    """A prepaid period consumed: the wallet down, revenue per product kind earned."""
    total = sum(revenue.values())
    return _entry(
        side(WALLET, total, currency, debit=True, customer_id=customer_id),
        *(side(f"revenue:{kind}", amount, currency, debit=False) for kind, amount in sorted(revenue.items())),
    )


def invoice_payment_entry(
    customer_id: str, currency: str, amount_minor: int, gateway: str = "wallet"
) -> list[Posting]:
    """An invoice paid from the wallet: the wallet down, the paying gateway's clearing account
    (``cash:wallet``, ``cash:voucher``) credited; the payment entry (``payment_entry(..., gateway)``) then
    debits that clearing account against the receivable, so it nets to zero."""
    return _entry(
        side(WALLET, amount_minor, currency, debit=True, customer_id=customer_id),
        side(f"cash:{gateway}", amount_minor, currency, debit=False),
    )


def reversal(postings: list[Posting]) -> list[Posting]:
    """The entry that undoes ``postings``: every debit becomes a credit and back."""
    return check_balanced(
        Posting(p.ledger_account, p.credit_minor, p.debit_minor, p.currency, p.customer_id) for p in postings
    )
