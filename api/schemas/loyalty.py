"""Loyalty: the programme, award rules, runs and points, as the API takes and shows them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from activities.loyalty.io import RuleReport
from api.schemas.common import Currency, Strict
from domain.catalog import Code
from domain.loyalty import RuleDefinition


class ProgrammeIn(Strict):
    currency: Currency
    point_value_minor: Decimal = Field(
        gt=0, le=1_000_000, max_digits=18, decimal_places=6, description="minor units one point is worth"
    )
    points_expiry_months: int | None = Field(default=None, ge=1, le=120, description="null: never")


class ProgrammeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    organisation_id: str
    currency: str
    point_value_minor: Decimal
    points_expiry_months: int | None


class RuleIn(Strict):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    definition: RuleDefinition
    active: bool = True


class RuleUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    definition: RuleDefinition | None = None
    active: bool | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    name: str
    definition: RuleDefinition
    active: bool
    version: int
    created_at: datetime


class RulePage(BaseModel):
    data: list[RuleOut]
    next_cursor: str | None
    has_more: bool


class RunIn(Strict):
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="the month to award, YYYY-MM")


class RunStartedOut(BaseModel):
    process_id: str
    period: str


class RunOut(BaseModel):
    id: str
    organisation_id: str
    period: str
    status: str
    process_id: str
    started_at: datetime
    finished_at: datetime | None
    points_expired: int
    rules: list[RuleReport]


class PointsMovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    points: int
    occurred_on: date
    expires_on: date | None
    award_id: str | None
    redemption_id: str | None
    reverses_id: str | None
    reason: str | None


class PointsOut(BaseModel):
    account_id: str
    balance: int
    movements: list[PointsMovementOut]
    next_cursor: str | None
    has_more: bool


class RedemptionIn(Strict):
    points: int = Field(gt=0, le=1_000_000_000)
    reward: Literal["wallet_credit", "voucher"]


class RedemptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    points: int
    reward: str
    amount_minor: int
    currency: str
    wallet_transaction_id: str | None
    voucher_id: str | None
    voucher_code: str | None
    ledger_entry_id: str | None
    balance: int = Field(description="the points balance after the redemption")


class ReversalIn(Strict):
    """What to take back: an earn movement (whole, less what reversals of its awards took) or one award."""

    movement_id: str | None = Field(default=None, max_length=32, description="an earn movement (lpm_…)")
    award_id: str | None = Field(
        default=None,
        max_length=32,
        description="one points award (law_…): its points, from the movement that credited it with the "
        "account's other awards of the run",
    )
    reason: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _one_target(self) -> ReversalIn:
        if (self.movement_id is None) == (self.award_id is None):
            raise ValueError("give either movement_id or award_id")
        return self
