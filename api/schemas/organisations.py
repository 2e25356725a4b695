"""Organisation and API key schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field

from api.schemas.common import Country, Currency, Strict, Text
from domain.money import RoundingMode
from domain.organisations import OrganisationKind, Role

CONTACT = (
    "Where the platform writes to the organisation about its own set-up (e.g. a webhook endpoint "
    "disabled after failing for days)"
)


class OrganisationCreate(Strict):
    name: Text
    kind: Literal["partner", "reseller", "outlet"]
    parent_id: str | None = Field(default=None, description="Defaults to your own organisation")
    country: Country | None = None
    contact_email: EmailStr | None = Field(default=None, description=CONTACT)


class OrganisationOut(BaseModel):
    id: str
    object: Literal["organisation"] = "organisation"
    parent_id: str | None
    kind: OrganisationKind
    name: str
    country: str | None
    contact_email: str | None = Field(default=None, description=CONTACT)
    rounding_mode: RoundingMode
    voucher_max_value_minor: dict[str, int] | None = Field(
        default=None, description="The operator's maximum value of one voucher, per currency"
    )
    top_up_max_minor: dict[str, int] | None = Field(
        default=None, description="The operator's maximum of one subscriber's wallet top-up, per currency"
    )
    created_at: datetime


# A voucher's maximum value in minor units: a positive integer (a trillion minor units is plenty).
VoucherMax = Annotated[int, Field(strict=True, gt=0, le=10**12)]


class OrganisationUpdate(Strict):
    name: Text | None = None
    country: Country | None = None
    contact_email: EmailStr | None = Field(default=None, description=CONTACT)
    rounding_mode: RoundingMode | None = Field(
        default=None, description="How money is rounded (operators only): half_up, half_even, up, down"
    )
    voucher_max_value_minor: dict[Currency, VoucherMax] | None = Field(
        default=None,
        max_length=200,
        description="Operators only: the most one voucher may be worth, in minor units per currency "
        "(a currency not named: 100 major units). Replaces the whole map.",
    )
    top_up_max_minor: dict[Currency, VoucherMax] | None = Field(
        default=None,
        max_length=200,
        description="Operators only: the most a subscriber may top up a wallet with at once, in minor "
        "units per currency (a currency not named: 500 major units). Replaces the whole map.",
    )


class ApiKeyCreate(Strict):
    role: Role
    name: Text


class ApiKeyOut(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    organisation_id: str
    role: Role
    name: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    token: str | None = Field(
        description="The secret key, shown only in the first response; null when the response is replayed"
    )
