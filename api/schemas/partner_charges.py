"""Partner charges (what a provider asked us to bill and what we decided), as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import Strict

ChargeStatus = Literal["received", "accepted", "declined"]


class PartnerChargeOut(BaseModel):
    id: str
    object: Literal["partner_charge"] = "partner_charge"
    provider: str
    charge_number: str = Field(description="the provider's number of the charge")
    partner_customer_id: str
    account_id: str | None
    partner_subscription_id: str | None
    partner_plan: str
    amount_minor: int = Field(description="what the partner is owed, in `currency`")
    currency: str
    local_amount_minor: int
    local_currency: str
    paid_through: date | None
    status: ChargeStatus
    decline_status: str | None = Field(description="DECLINED, BAD_REQUEST or REJECTED when declined")
    reason: str | None = Field(description="why we declined it: `<code>: <message>`")
    reference: str | None = Field(description="our reference sent with the decision, unique per operator")
    subscriber_amount_minor: int | None = Field(description="what the subscriber pays (0 when included)")
    billed_as: Literal["invoice", "wallet", "included"] | None
    pending_charge_id: str | None = Field(description="the charge on the subscriber's next invoice")
    times_received: int = Field(description="how often the provider sent it (billed once)")
    received_at: datetime | None
    decided_at: datetime | None
    reported_at: datetime | None = Field(description="when the provider took our decision")
    report_error_code: str | None = Field(description="the provider refused our decision: its code")
    report_error: str | None
    settlement_id: str | None


class AcceptanceRunCreate(Strict):
    provider: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_.-]*$")


class AcceptanceRunStarted(BaseModel):
    process_id: str = Field(description="follow it at /v1/processes/{process_id}")
    organisation_id: str
    provider: str


class PushReceivedOut(BaseModel):
    received: bool = True
    charges: int = Field(description="charges in the push")
    new: int = Field(description="charges not seen before")
    repeats: int = Field(description="copies of charges already received (counted, never billed twice)")
    process_id: str | None = Field(description="the acceptance process that decides them")


class ChargeScheduleOut(BaseModel):
    id: str
    provider: str


class SchedulesOut(BaseModel):
    object: Literal["partner_charge_schedules"] = "partner_charge_schedules"
    schedules: list[ChargeScheduleOut] = Field(description="the hourly charge acceptance, per provider")
    settlement_schedules: list[ChargeScheduleOut] = Field(
        default_factory=list,
        description="the monthly PartnerSettlement (the 2nd at 03:00 UTC: the month before), per provider",
    )
