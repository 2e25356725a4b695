"""The branding as the portal and the app configuration read it (no SQLAlchemy here)."""

from __future__ import annotations

from pydantic import BaseModel

from domain.branding import DEFAULT_COLOURS, SAFE_FONTS


class FooterLink(BaseModel):
    label: str
    url: str


class Branding(BaseModel):
    """What an operator's portal looks like; an operator that never set one gets the defaults."""

    organisation_id: str
    name: str
    logo_url: str | None = None
    colours: dict[str, str] = {
        "primary": DEFAULT_COLOURS.primary,
        "on_primary": DEFAULT_COLOURS.on_primary,
        "background": DEFAULT_COLOURS.background,
        "text": DEFAULT_COLOURS.text,
        "accent": DEFAULT_COLOURS.accent,
    }
    font_family: str = SAFE_FONTS["system"]
    footer_links: list[FooterLink] = []
    support_email: str | None = None
    support_phone: str | None = None
    support_hours: str | None = None
    hosts: list[str] = []
    default_language: str = "en"
    version: int = 0  # 0: never set (defaults)

    def css_variables(self) -> dict[str, str]:
        return {
            "--primary": self.colours["primary"],
            "--on-primary": self.colours["on_primary"],
            "--background": self.colours["background"],
            "--text": self.colours["text"],
            "--accent": self.colours["accent"],
            "--font": self.font_family,
        }
