"""Partner connections, memberships and settlements, as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.common import Strict

Provider = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}$")]


class ConnectionCreate(Strict):
    provider: Provider = Field(description="An installed partner provider: netflix, …")
    base_url: str = Field(min_length=1, max_length=2000, description="The provider's API base URL")
    partner_id: str = Field(min_length=1, max_length=200, description="Your id at the provider")
    secret: str = Field(min_length=1, max_length=2000, description="Stored sealed; never shown again")
    enabled: bool = True
    revenue_share_percent: Decimal = Field(
        default=Decimal(0), ge=0, le=100, decimal_places=4, description="Your share of the partner's charges"
    )
    time_zone: str = Field(default="UTC", max_length=64, description="The zone months are settled in")


class ConnectionUpdate(Strict):
    base_url: str | None = Field(default=None, min_length=1, max_length=2000)
    partner_id: str | None = Field(default=None, min_length=1, max_length=200)
    secret: str | None = Field(default=None, min_length=1, max_length=2000)
    enabled: bool | None = None
    revenue_share_percent: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=4)
    time_zone: str | None = Field(default=None, max_length=64)


class ConnectionOut(BaseModel):
    id: str
    object: str = "partner_connection"
    provider: str
    base_url: str
    partner_id: str
    enabled: bool
    revenue_share_percent: str
    time_zone: str
    created_at: datetime


class MembershipOut(BaseModel):
    id: str
    object: str = "partner_subscription"
    account_id: str
    subscription_id: str
    service_id: str | None
    provider: str
    partner_plan: str
    partner_customer_id: str
    status: str = Field(description="pending_signup | active | ended | failed")
    channel: str
    signup_url: str | None = Field(description="While pending_signup: where the subscriber signs up")
    signup_expires_at: datetime | None
    allowance_minor: int
    currency: str
    included_in_price: bool
    created_at: datetime | None
    activated_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


class SettlementCreate(Strict):
    provider: Provider
    month: Month = Field(description="YYYY-MM: the month whose accepted charges are settled")


class SettlementOut(BaseModel):
    id: str
    object: str = "partner_settlement"
    provider: str
    month: str
    time_zone: str
    currency: str
    charge_count: int
    charged_minor: int
    revenue_share_percent: str
    operator_share_minor: int
    partner_payable_minor: int
    ledger_entry_id: str | None
    created_at: datetime


def connection_dict(row: Any) -> dict[str, Any]:
    return ConnectionOut.model_validate(_connection(row)).model_dump(mode="json")


def _connection(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "partner_connection",
        "provider": row.provider,
        "base_url": row.base_url,
        "partner_id": row.partner_id,
        "enabled": row.enabled,
        "revenue_share_percent": f"{Decimal(row.revenue_share_percent):.4f}",
        "time_zone": str((row.options or {}).get("time_zone") or "UTC"),
        "created_at": row.created_at.isoformat(),
    }
