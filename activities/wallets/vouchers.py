"""Voucher lots: create (codes returned once), activate, cancel, expire; redeem a code exactly once.

Redemption is a conditional UPDATE (``status = 'activated'``): of any number of concurrent attempts on
one code, one changes the row and the others find it redeemed and are refused.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated

from pydantic import ConfigDict, Field
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from activities.catalog.records import operator_of
from activities.shared.visibility import find_visible_organisation
from activities.subscriptions import records as store
from activities.wallets.balances import Movement, check_currency, move, wallet_for
from domain.catalog import Code
from domain.currency import MINOR_UNITS
from domain.errors import Conflict, NotFound, RuleViolation
from domain.ids import is_valid_id, new_id
from domain.money import AmountMinor, CurrencyBoundAmounts
from domain.principal import Principal
from domain.vouchers import (
    check_value,
    code_hash,
    display_prefix,
    formatted,
    new_code,
    normalise_code,
    redeemable,
)
from domain.wallets import top_up_entry
from models.accounts import Account
from models.base import utcnow
from models.organisations import Organisation
from models.subscriptions import Subscription
from models.vouchers import Voucher, VoucherLot
from models.wallets import WalletTransaction

MAX_LOT = 10_000


class LotRequest(CurrencyBoundAmounts):
    """POST /v1/voucher-lots."""

    model_config = ConfigDict(extra="forbid")

    value_minor: Annotated[AmountMinor, Field(gt=0, description="Value of each voucher in minor units")]
    currency: str = Field(pattern="^[A-Z]{3}$")
    expires_on: date = Field(description="Last day a code can be redeemed")
    count: int = Field(ge=1, le=MAX_LOT)
    seller_organisation_id: str | None = Field(default=None, description="Default: your organisation")
    plan_code: Code | None = Field(default=None, description="Redeemable only for this plan")


def create_lot(
    session: Session, principal: Principal, request: LotRequest, today: date
) -> tuple[VoucherLot, list[str]]:
    """A lot of ``count`` fresh codes; the codes are returned here and never again."""
    seller = find_visible_organisation(
        session, principal, request.seller_organisation_id or principal.organisation_id
    )
    if seller is None:
        raise NotFound("organisation", str(request.seller_organisation_id))
    if request.expires_on < today:
        raise RuleViolation("expiry_in_past", f"{request.expires_on} is before today", field="expires_on")
    check_currency_code(request.currency)
    check_value(request.value_minor, request.currency, operator_limits(session, principal))
    lot = VoucherLot(
        id=new_id("vlt"),
        organisation_id=principal.organisation_id,
        seller_organisation_id=seller.id,
        value_minor=request.value_minor,
        currency=request.currency,
        expires_on=request.expires_on,
        count=request.count,
        plan_code=request.plan_code,
        status="created",
        created_by=principal.key_id,
    )
    session.add(lot)
    session.flush()
    codes = [new_code() for _ in range(request.count)]
    rows = [
        {
            "id": new_id("vch"),
            "lot_id": lot.id,
            "code_hash": code_hash(c),
            "display_prefix": display_prefix(c),
            "status": "created",
        }
        for c in codes
    ]
    session.execute(insert(Voucher), rows)
    return lot, [formatted(c) for c in codes]


def operator_limits(session: Session, principal: Principal) -> dict[str, int] | None:
    """The voucher maximums the caller's operator set (None: the defaults apply)."""
    operator = session.get(Organisation, operator_of(principal))
    return operator.voucher_max_value_minor if operator is not None else None


def code_hash_of(typed: str) -> str:
    """The stored hash of a typed code (a malformed code hashes as typed, to be refused later)."""
    try:
        return code_hash(normalise_code(typed))
    except RuleViolation:
        return code_hash(typed)


def check_currency_code(currency: str) -> None:
    if currency not in MINOR_UNITS:
        raise RuleViolation("currency_unknown", f"{currency!r} is not an ISO 4217 currency", field="currency")


def codes_csv(lot: VoucherLot, codes: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "value_minor", "currency", "expires_on", "lot_id"])
    for c in codes:
        writer.writerow([c, lot.value_minor, lot.currency, lot.expires_on.isoformat(), lot.id])
    return out.getvalue()


def visible_lot(session: Session, principal: Principal, lot_id: str, *, lock: bool = False) -> VoucherLot:
    stmt = (
        select(VoucherLot)
        .join(Organisation, Organisation.id == VoucherLot.organisation_id)
        .where(
            VoucherLot.id == lot_id,
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
        )
    )
    lot = session.execute(stmt.with_for_update(of=VoucherLot) if lock else stmt).scalar_one_or_none()
    if lot is None or not is_valid_id(lot_id, "vlt"):
        raise NotFound("voucher_lot", lot_id)
    return lot


def activate_lot(session: Session, principal: Principal, lot_id: str) -> VoucherLot:
    """Put a lot on sale: its codes become redeemable (a second activation changes nothing)."""
    lot = visible_lot(session, principal, lot_id, lock=True)
    if lot.status == "cancelled":
        raise Conflict("voucher_lot_cancelled", f"lot {lot.id} was cancelled")
    if lot.status == "created":
        check_value(lot.value_minor, lot.currency, operator_limits(session, principal))
        lot.status, lot.activated_at = "activated", utcnow()
        session.execute(
            update(Voucher)
            .where(Voucher.lot_id == lot.id, Voucher.status == "created")
            .values(status="activated")
        )
    return lot


def cancel_lot(session: Session, principal: Principal, lot_id: str) -> tuple[VoucherLot, int]:
    """Withdraw a lot: codes not yet redeemed are cancelled. Returns the lot and how many were cancelled."""
    lot = visible_lot(session, principal, lot_id, lock=True)
    if lot.status != "cancelled":
        lot.status, lot.cancelled_at = "cancelled", utcnow()
    cancelled = session.execute(
        update(Voucher)
        .where(Voucher.lot_id == lot.id, Voucher.status.in_(("created", "activated")))
        .values(status="cancelled")
        .returning(Voucher.id)
    ).all()
    return lot, len(cancelled)


def expire_vouchers(session: Session, today: date) -> int:
    """Mark every unredeemed code of a lot past its expiry as expired."""
    expired_lots = select(VoucherLot.id).where(VoucherLot.expires_on < today)
    expired = session.execute(
        update(Voucher)
        .where(Voucher.lot_id.in_(expired_lots), Voucher.status.in_(("created", "activated")))
        .values(status="expired")
        .returning(Voucher.id)
    ).all()
    return len(expired)


def _check_plan(session: Session, lot: VoucherLot, account: Account, subscription_id: str | None) -> None:
    if lot.plan_code is None:
        return
    if not subscription_id:
        raise RuleViolation(
            "subscription_required",
            f"this voucher is for plan {lot.plan_code}: name the subscription",
            field="subscription_id",
        )
    sub = session.get(Subscription, subscription_id)
    live = store.services(session, sub.id, ("active", "suspended")) if sub else []
    if sub is None or sub.account_id != account.id or lot.plan_code not in {s.plan_code for s in live}:
        raise RuleViolation(
            "voucher_plan_mismatch", f"this voucher is only for plan {lot.plan_code}", field="subscription_id"
        )


def redeem(
    session: Session,
    *,
    code: str,
    account: Account,
    subscription_id: str | None,
    today: date,
    currency: str | None = None,
) -> tuple[Voucher, VoucherLot, WalletTransaction]:
    """Redeem a code into the account's wallet (for its plan, if the lot names one). Exactly once."""
    digest = code_hash(normalise_code(code))
    row = session.execute(
        select(Voucher, VoucherLot)
        .join(VoucherLot, VoucherLot.id == Voucher.lot_id)
        .where(Voucher.code_hash == digest)
    ).first()
    if row is None or store.operator_id(session, row[1].organisation_id) != store.operator_id(
        session, account.organisation_id
    ):
        raise NotFound("voucher", "with this code")
    voucher, lot = row
    redeemable(voucher.status, lot.expires_on, today)
    if currency is not None and lot.currency != currency:
        raise RuleViolation(
            "currency_mismatch", f"this voucher is in {lot.currency}, not {currency}", field="currency"
        )
    if lot.currency != account.currency:
        check_currency(session, account, lot.currency, field="code")
    _check_plan(session, lot, account, subscription_id)
    won = session.execute(
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.status == "activated")
        .values(
            status="redeemed",
            redeemed_at=utcnow(),
            redeemed_by_account_id=account.id,
            redeemed_for_subscription_id=subscription_id,
        )
        .returning(Voucher.id)
    ).first()
    if won is None:
        raise Conflict("voucher_already_redeemed", "this voucher has already been redeemed")
    wallet = wallet_for(session, account, lot.currency, lock=True)
    movement = Movement(
        "top_up",
        lot.value_minor,
        f"voucher:{voucher.id}",
        method="voucher",
        reference=voucher.id,
        description=f"voucher {voucher.display_prefix}…",
    )
    tx, _ = move(
        session, wallet, movement, top_up_entry(account.id, lot.currency, lot.value_minor, "voucher"), today
    )
    session.execute(update(Voucher).where(Voucher.id == voucher.id).values(wallet_transaction_id=tx.id))
    session.refresh(voucher)
    return voucher, lot, tx
