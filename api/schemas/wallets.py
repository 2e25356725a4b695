"""Request and response bodies of the wallet, voucher and SEPA endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import NonNegativeAmountMinor, PositiveAmountMinor


class WalletOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    object: Literal["wallet"] = "wallet"
    id: str
    account_id: str
    currency: str
    balance_minor: int
    low_balance_threshold_minor: int
    updated_at: datetime


class WalletList(BaseModel):
    data: list[WalletOut]


class WalletSettings(BaseModel):
    """PATCH /v1/accounts/{id}/wallets/{currency}."""

    model_config = ConfigDict(extra="forbid")

    low_balance_threshold_minor: NonNegativeAmountMinor = Field(
        description="Notify when the balance falls below this"
    )


class TopUpIn(BaseModel):
    """A top-up by card (through a gateway), cash at the counter, or a voucher code."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["card", "cash", "voucher", "mobile_money"]
    amount_minor: PositiveAmountMinor | None = Field(
        default=None, description="Card and cash; a voucher's is its value"
    )
    currency: str | None = Field(default=None, description="If sent, must equal the wallet's currency")
    gateway: str = Field(default="stripe", max_length=64, description="Card: the gateway that charges it")
    payment_method_token: str | None = Field(default=None, max_length=255, description="Card: gateway token")
    msisdn: str | None = Field(
        default=None,
        max_length=16,
        description="Mobile money: the phone to send the payment request to (E.164)",
    )
    voucher_code: str | None = Field(default=None, max_length=40)
    receipt: str | None = Field(default=None, max_length=64, description="Cash: the outlet's receipt number")


class WalletTransactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    object: Literal["wallet_transaction"] = "wallet_transaction"
    id: str
    kind: str
    amount_minor: int
    balance_after_minor: int
    method: str | None
    reference: str | None
    subscription_id: str | None
    period_start: date | None
    period_end: date | None
    description: str | None
    ledger_entry_id: str | None
    created_at: datetime


class TopUpOut(BaseModel):
    object: Literal["wallet_top_up"] = "wallet_top_up"
    wallet: WalletOut
    transaction: WalletTransactionOut


class TransactionPage(BaseModel):
    data: list[WalletTransactionOut]
    next_cursor: str | None
    has_more: bool


class LotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    object: Literal["voucher_lot"] = "voucher_lot"
    id: str
    organisation_id: str
    seller_organisation_id: str
    value_minor: int
    currency: str
    expires_on: date
    count: int
    plan_code: str | None
    status: str
    created_at: datetime


class LotCreated(LotOut):
    codes: list[str] = Field(
        description="The codes, shown this once (empty in a replay): only hashes are kept"
    )
    codes_csv: str = Field(description="The same codes as CSV for the printer or the outlet")


class LotCancelled(LotOut):
    vouchers_cancelled: int


class RedeemIn(BaseModel):
    """POST /v1/vouchers/redeem: to the account's wallet, or for a plan the voucher is restricted to."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40)
    account_id: str
    subscription_id: str | None = Field(default=None, description="Needed for a voucher sold for a plan")


class RedeemOut(BaseModel):
    object: Literal["voucher_redemption"] = "voucher_redemption"
    voucher_id: str
    lot_id: str
    value_minor: int
    currency: str
    plan_code: str | None
    subscription_id: str | None
    wallet: WalletOut
    transaction: WalletTransactionOut


class MandateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    object: Literal["sepa_mandate"] = "sepa_mandate"
    id: str
    account_id: str
    payment_method_id: str | None
    reference: str
    signed_on: date
    debtor_name: str
    iban_masked: str
    bic: str | None
    status: str
