"""Branding and the app configuration, as the API takes and shows them."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, EmailStr, Field, ValidationInfo, field_validator

from activities.branding.io import FooterLink
from api.schemas.common import Strict
from domain import branding as rules
from domain.errors import RuleViolation


class ColoursIn(Strict):
    primary: str = Field(default=rules.DEFAULT_COLOURS.primary, examples=["#0b5cad"])
    on_primary: str = Field(default=rules.DEFAULT_COLOURS.on_primary, description="text on primary")
    background: str = rules.DEFAULT_COLOURS.background
    text: str = rules.DEFAULT_COLOURS.text
    accent: str = rules.DEFAULT_COLOURS.accent

    @field_validator("primary", "on_primary", "background", "text", "accent")
    @classmethod
    def hex_colour(cls, value: str, info: ValidationInfo) -> str:
        return rules.colour(value, str(info.field_name))

    def checked(self) -> rules.Colours:
        """The colours once their contrast is checked (a 422 naming ``colours.<field>`` if not)."""
        return rules.colours(
            self.primary, self.on_primary, self.background, self.text, self.accent, prefix="colours."
        )


class FooterLinkIn(Strict):
    label: str = Field(min_length=1, max_length=60)
    url: str = Field(min_length=1, max_length=500, description="https:// or a path starting with /")

    @field_validator("url")
    @classmethod
    def safe_url(cls, value: str) -> str:
        return rules.link_url(value, "footer_links.url")


class BrandingIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    logo_url: str | None = Field(
        default=None, max_length=500, description="https logo; omit to keep an uploaded logo"
    )
    colours: ColoursIn = ColoursIn()
    font_family: str = Field(default="system", max_length=200, description="a safe-list name or a stack")
    footer_links: list[FooterLinkIn] = Field(default_factory=list, max_length=10)
    support_email: EmailStr | None = None
    support_phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ()\-]{3,39}$")
    support_hours: str | None = Field(default=None, max_length=100)
    hosts: list[str] = Field(default_factory=list, max_length=10, description="e.g. portal.example.com")
    default_language: str = "en"

    @field_validator("logo_url")
    @classmethod
    def safe_logo(cls, value: str | None) -> str | None:
        return rules.link_url(value, "logo_url") if value is not None else None

    @field_validator("font_family")
    @classmethod
    def safe_font(cls, value: str) -> str:
        return rules.font_stack(value)

    @field_validator("hosts")
    @classmethod
    def host_names(cls, value: list[str]) -> list[str]:
        return sorted({rules.host_name(host) for host in value})

    @field_validator("default_language")
    @classmethod
    def known_language(cls, value: str) -> str:
        return rules.language(value)


class LogoIn(Strict):
    content_type: str = Field(description="image/png, image/jpeg or image/webp", max_length=40)
    data_base64: str = Field(
        max_length=(rules.MAX_LOGO_BYTES * 4) // 3 + 8,
        description="the image, base64 (at most 256 KB decoded)",
    )

    def decoded(self) -> bytes:
        try:
            return base64.b64decode(self.data_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RuleViolation(
                "invalid_logo", "data_base64 is not valid base64", field="data_base64"
            ) from exc


class BrandingOut(BaseModel):
    organisation_id: str
    name: str
    logo_url: str | None
    colours: dict[str, str]
    font_family: str
    footer_links: list[FooterLink]
    support_email: str | None
    support_phone: str | None
    support_hours: str | None
    hosts: list[str]
    default_language: str
    version: int = Field(description="grows on every change; 0 while the defaults are in use")


class AppConfigOut(BaseModel):
    """What the app (and the portal) need before anyone signs in."""

    organisation_id: str
    branding: BrandingOut
    api_base_url: str
    oauth_client_id: str | None = Field(description="the operator's app's OAuth client (PKCE); null: none")
    stripe_publishable_key: str | None
    languages: list[str]
    payment_methods: list[str]
