"""What an award or a redemption gives: wallet credit or a voucher, each with its balanced ledger entry
(marketing expense against the wallet, or against the voucher clearing account that the voucher's
redemption later settles). In the caller's transaction; the caller makes each happen once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from activities.shared.ledger import post_entry
from activities.wallets.balances import Movement, move, wallet_for
from domain.errors import NotFound
from domain.ids import new_id
from domain.loyalty import loyalty_credit_entry, loyalty_voucher_entry
from domain.vouchers import code_hash, display_prefix, formatted, new_code
from models.accounts import Account
from models.base import utcnow
from models.vouchers import Voucher, VoucherLot

CREATED_BY = "loyalty"


@dataclass(frozen=True)
class Credited:
    wallet_transaction_id: str
    ledger_entry_id: str | None


@dataclass(frozen=True)
class VoucherGiven:
    voucher_id: str
    code: str
    ledger_entry_id: str


def credit_wallet(
    session: Session, account_id: str, currency: str, amount_minor: int, key: str, description: str, on: date
) -> Credited:
    """Credit the account's wallet for loyalty (once per ``key``)."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    wallet = wallet_for(session, account, currency, lock=True)
    movement = Movement(
        kind="top_up", amount_minor=amount_minor, key=key, method="loyalty", description=description
    )
    tx, _ = move(session, wallet, movement, loyalty_credit_entry(account_id, currency, amount_minor), on)
    return Credited(tx.id, tx.ledger_entry_id)


def give_voucher(
    session: Session,
    organisation_id: str,
    account_id: str,
    currency: str,
    value_minor: int,
    valid_days: int,
    key: str,
    on: date,
) -> VoucherGiven:
    """A one-code voucher lot, on sale at once, given to the account; its code is returned (and kept on
    the award or redemption, so the customer can read it)."""
    code = new_code()
    lot = VoucherLot(
        id=new_id("vlt"),
        organisation_id=organisation_id,
        seller_organisation_id=organisation_id,
        value_minor=value_minor,
        currency=currency,
        expires_on=on + timedelta(days=valid_days),
        count=1,
        status="activated",
        created_by=CREATED_BY,
        activated_at=utcnow(),
    )
    session.add(lot)
    session.flush()
    voucher = Voucher(
        id=new_id("vch"),
        lot_id=lot.id,
        code_hash=code_hash(code),
        display_prefix=display_prefix(code),
        status="activated",
    )
    session.add(voucher)
    session.flush()
    entry_id = post_entry(
        session,
        organisation_id=organisation_id,
        customer_id=account_id,
        kind="loyalty",
        source_id=voucher.id,
        currency=currency,
        booked_on=on,
        postings=loyalty_voucher_entry(currency, value_minor),
        key=f"loyalty-voucher:{key}",
        memo="Loyalty voucher",
    )
    return VoucherGiven(voucher.id, formatted(code), entry_id)
