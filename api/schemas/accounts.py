"""Account request and response schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, EmailStr, Field, model_validator

from api.schemas.common import Country, Currency, Language, LongText, Phone, Strict, Text, TimeZone


class AccountType(StrEnum):
    PERSON = "person"
    COMPANY = "company"


class TaxStatus(StrEnum):
    TAXABLE = "taxable"
    EXEMPT = "exempt"
    REVERSE_CHARGE = "reverse_charge"


class Address(Strict):
    kind: Literal["billing", "service", "shipping", "legal"] = "billing"
    line1: LongText
    line2: LongText | None = None
    city: Text
    region: Text | None = None
    postal_code: Text | None = Field(default=None, max_length=20)
    country: Country


class Contact(Strict):
    name: Text
    role: Text | None = None
    email: EmailStr | None = None
    phone: Phone | None = None


EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def _past_birth_date(value: date) -> date:
    if value < EARLIEST_BIRTH_DATE or value > datetime.now(UTC).date():
        raise ValueError(f"a date of birth between {EARLIEST_BIRTH_DATE} and today")
    return value


BirthDate = Annotated[
    date,
    AfterValidator(_past_birth_date),
    Field(description="A person's date of birth (YYYY-MM-DD), where given: segments' age bands use it"),
]


class _AccountFields(Strict):
    display_name: LongText | None = None
    given_name: Text | None = None
    family_name: Text | None = None
    legal_name: LongText | None = None
    registration_number: Text | None = Field(default=None, max_length=64)
    email: EmailStr | None = None
    phone: Phone | None = None
    language: Language | None = None
    currency: Currency | None = None
    timezone: TimeZone | None = None
    tax_status: TaxStatus | None = None
    tax_id: Text | None = Field(default=None, max_length=64)
    external_ref: Text | None = Field(default=None, max_length=128)
    addresses: list[Address] | None = Field(default=None, max_length=10)
    contacts: list[Contact] | None = Field(default=None, max_length=20)
    birth_date: BirthDate | None = None


class AccountCreate(_AccountFields):
    type: AccountType
    email: EmailStr
    currency: Currency
    timezone: TimeZone
    organisation_id: str | None = Field(default=None, description="Defaults to the caller's organisation")
    parent_account_id: str | None = Field(default=None, description="A company account this one belongs to")
    verify: bool = Field(default=False, description="Start the AccountVerification process (email + confirm)")

    @model_validator(mode="after")
    def _type_fields(self) -> AccountCreate:
        if self.type is AccountType.PERSON:
            if not (self.given_name and self.family_name):
                raise ValueError("a person account needs given_name and family_name")
            if self.legal_name or self.registration_number:
                raise ValueError("legal_name and registration_number are for company accounts")
        elif not self.legal_name:
            raise ValueError("a company account needs legal_name")
        if self.birth_date is not None and self.type is AccountType.COMPANY:
            raise ValueError("birth_date is for person accounts")
        if self.tax_status is TaxStatus.REVERSE_CHARGE and (
            self.type is AccountType.PERSON or not self.tax_id
        ):
            raise ValueError("reverse_charge tax status needs a company account with a tax_id (VAT number)")
        return self


class AccountUpdate(_AccountFields):
    status: Literal["active", "closed"] | None = None
    parent_account_id: str | None = None
    verify: bool | None = Field(
        default=None,
        description="Verify the email address (again): starts AccountVerification. A new address of a "
        "verified account, or of one being verified, is always verified again",
    )


class AccountOut(BaseModel):
    id: str
    object: Literal["account"] = "account"
    organisation_id: str
    parent_account_id: str | None
    type: AccountType
    status: str
    display_name: str
    given_name: str | None
    family_name: str | None
    legal_name: str | None
    registration_number: str | None
    email: str
    phone: str | None
    language: str
    currency: str
    timezone: str
    tax_status: TaxStatus
    tax_id: str | None
    external_ref: str | None
    addresses: list[Address]
    contacts: list[Contact]
    verification_status: str
    verification_process_id: str | None
    verified_at: datetime | None
    birth_date: date | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class AccountCreated(AccountOut):
    process_id: str | None = Field(description="The AccountVerification process, when verify was requested")
