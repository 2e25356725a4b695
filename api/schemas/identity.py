"""Requests and answers of the subscriber's identity API (/v1/subscriber-auth/…, /v1/me/sessions)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from api.schemas.common import Currency, Language, Strict, Text, TimeZone

Password = Field(min_length=1, max_length=1024, description="12 to 128 characters, not a common password")
Token = Field(min_length=16, max_length=200, description="the token from the e-mailed link")


class _OperatorChoice(Strict):
    organisation_id: str | None = Field(
        default=None,
        max_length=40,
        description="The operator (apps know it from /v1/app-config); default: the portal's operator",
    )


class Registration(_OperatorChoice):
    email: EmailStr
    password: str = Password
    given_name: Text
    family_name: Text
    language: Language = "en"
    currency: Currency = "EUR"
    timezone: TimeZone = "UTC"
    plan_code: str | None = Field(default=None, max_length=64, description="a plan to subscribe to later")


class Registered(BaseModel):
    status: Literal["check_your_email"] = "check_your_email"
    detail: str = "If the address can be registered, we sent it a confirmation link"


class PasswordLogin(_OperatorChoice):
    email: EmailStr
    password: str = Password


class LinkRequest(_OperatorChoice):
    email: EmailStr


class LinkSent(BaseModel):
    status: Literal["link_sent"] = "link_sent"
    detail: str = "If the address has an account, we sent it a link"


class LinkLogin(Strict):
    token: str = Token


class PasswordReset(Strict):
    token: str = Token
    password: str = Password


class SignedIn(BaseModel):
    session_id: str
    csrf_token: str = Field(description="send it in X-CSRF-Token on the portal's unsafe requests")
    expires_at: datetime


class SignedOut(BaseModel):
    status: Literal["signed_out"] = "signed_out"


class SignedInDevice(BaseModel):
    id: str
    kind: Literal["portal", "app"]
    device_name: str | None
    user_agent: str | None
    ip_address: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool = Field(description="the session this request came through")


class SignedInDevices(BaseModel):
    data: list[SignedInDevice]
