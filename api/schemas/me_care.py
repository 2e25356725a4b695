"""Requests and answers of the subscriber's own API (/v1/me/…): vouchers, offers, points, tickets,
notification preferences. Every body may name one of the subscriber's accounts (a B2B parent acting for a
child); without it, the subscriber's own account."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import Strict
from api.schemas.notifications import Channel
from domain.fields import Language

AccountField = Field(default=None, max_length=32, description="one of your accounts; default: your own")


class MeVoucherIn(Strict):
    code: str = Field(min_length=1, max_length=40)
    subscription_id: str | None = Field(
        default=None, max_length=32, description="Needed for a voucher sold for a plan"
    )
    account_id: str | None = AccountField


class MeOfferAcceptIn(Strict):
    subscription_id: str | None = Field(default=None, max_length=64)
    account_id: str | None = AccountField


class MePointsRedemptionIn(Strict):
    points: int = Field(gt=0, le=1_000_000_000)
    reward: Literal["wallet_credit", "voucher"]
    account_id: str | None = AccountField


class MeTicketIn(Strict):
    category: str = Field(min_length=1, max_length=64, description="a category open to subscribers")
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    subscription_id: str | None = Field(default=None, max_length=32)
    device_id: str | None = Field(default=None, max_length=32)
    invoice_id: str | None = Field(default=None, max_length=32)
    account_id: str | None = AccountField


class MeCommentIn(Strict):
    body: str = Field(min_length=1, max_length=20_000)


class MeAttachmentIn(Strict):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=100)
    content_base64: str = Field(min_length=1, description="the file, base64; see the allowed types and size")


class MeCategoryOut(BaseModel):
    id: str
    code: str
    name: str


class MeCategoryList(BaseModel):
    data: list[MeCategoryOut]


class MeTicketOut(BaseModel):
    id: str
    account_id: str
    category_id: str
    status: str
    priority: str
    subject: str
    description: str
    subscription_id: str | None
    device_id: str | None
    invoice_id: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None


class MeThreadLine(BaseModel):
    id: int
    at: datetime
    kind: str
    from_customer: bool
    body: str | None
    data: dict[str, Any]


class MeTicketDetail(MeTicketOut):
    thread: list[MeThreadLine]


class MeTicketPage(BaseModel):
    data: list[MeTicketOut]
    next_cursor: str | None
    has_more: bool


class MeAttachmentOut(BaseModel):
    id: str
    ticket_id: str
    filename: str
    content_type: str
    size: int


class MeAttachmentContent(MeAttachmentOut):
    content_base64: str


class MePreferencesIn(Strict):
    channels: list[Channel] | None = Field(default=None, description="channels accepted; null: every one")
    marketing_opt_out: bool = False
    language: Language | None = Field(default=None, description="the language of your messages and bills")
    account_id: str | None = AccountField


class MePreferencesOut(BaseModel):
    account_id: str
    channels: list[str] | None
    marketing_opt_out: bool
    language: str
    always_sent: str = Field(
        default="Legally required notices (bills, payment failures, suspension) are sent whatever you choose"
    )
