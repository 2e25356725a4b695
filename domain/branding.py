"""An operator's portal branding: the rules its values obey before they reach a page.

Colours are 6-digit hex (``#1a2b3c``); the primary colour and the text drawn on it must reach the WCAG
2.x contrast ratio for normal text (4.5:1); a font is one of a safe list or a strict CSS font stack; links
are https or site-relative; portal hosts are bare lower-case DNS names. Everything that ends up inside the
portal's ``<style>`` block passes through here first, so a stored value can never close the block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from domain.errors import RuleViolation

MIN_CONTRAST = Decimal("4.5")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
SAFE_FONTS = {
    "system": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "sans": "'Helvetica Neue', Arial, sans-serif",
    "serif": "Georgia, 'Times New Roman', serif",
    "rounded": "ui-rounded, 'Nunito', system-ui, sans-serif",
    "mono": "ui-monospace, 'SFMono-Regular', Menlo, monospace",
}
# A CSS font stack: comma-separated family names, each a bare word run or a single-quoted name.
_FAMILY = r"(?:'[A-Za-z0-9 \-]{1,40}'|[A-Za-z][A-Za-z0-9\-]{0,30}(?: [A-Za-z0-9\-]{1,30}){0,3})"
FONT_STACK = re.compile(rf"^{_FAMILY}(?:, ?{_FAMILY}){{0,5}}$")
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"^(?=.{{1,253}}$)(?:{_LABEL}\.)*{_LABEL}$")
LOGO_TYPES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff", "image/webp": b"RIFF"}
MAX_LOGO_BYTES = 256 * 1024
LANGUAGES = ("en", "es")


@dataclass(frozen=True)
class Colours:
    primary: str = "#0b5cad"
    on_primary: str = "#ffffff"
    background: str = "#ffffff"
    text: str = "#1b1f24"
    accent: str = "#b3261e"

    def css_variables(self) -> dict[str, str]:
        return {
            "--primary": self.primary,
            "--on-primary": self.on_primary,
            "--background": self.background,
            "--text": self.text,
            "--accent": self.accent,
        }


DEFAULT_COLOURS = Colours()


def colour(value: str, field: str) -> str:
    """A validated, lower-cased ``#rrggbb``."""
    if not HEX_COLOUR.match(value):
        raise RuleViolation("invalid_colour", f"{field} must be a colour like #1a2b3c", field=field)
    return value.lower()


def _channel(value: int) -> Decimal:
    c = Decimal(value) / Decimal(255)
    if c <= Decimal("0.04045"):
        return c / Decimal("12.92")
    return ((c + Decimal("0.055")) / Decimal("1.055")) ** Decimal("2.4")


def luminance(hex_colour: str) -> Decimal:
    """WCAG relative luminance of ``#rrggbb``."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return Decimal("0.2126") * _channel(r) + Decimal("0.7152") * _channel(g) + Decimal("0.0722") * _channel(b)


def contrast_ratio(first: str, second: str) -> Decimal:
    """WCAG contrast ratio between two colours, from 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + Decimal("0.05")) / (dark + Decimal("0.05"))


def check_contrast(foreground: str, background: str, field: str) -> None:
    ratio = contrast_ratio(foreground, background)
    if ratio < MIN_CONTRAST:
        shown = ratio.quantize(Decimal("0.01"))
        raise RuleViolation(
            "insufficient_contrast",
            f"{field} {foreground} on {background} has a contrast of {shown}:1; at least 4.5:1 is needed",
            field=field,
        )


def colours(
    primary: str, on_primary: str, background: str, text: str, accent: str, *, prefix: str = ""
) -> Colours:
    """Validated colours: the text on primary and the text on the background must both be readable
    (``prefix`` names the fields in errors, e.g. ``colours.``)."""
    result = Colours(
        primary=colour(primary, f"{prefix}primary"),
        on_primary=colour(on_primary, f"{prefix}on_primary"),
        background=colour(background, f"{prefix}background"),
        text=colour(text, f"{prefix}text"),
        accent=colour(accent, f"{prefix}accent"),
    )
    check_contrast(result.on_primary, result.primary, f"{prefix}on_primary")
    check_contrast(result.text, result.background, f"{prefix}text")
    check_contrast(result.primary, result.background, f"{prefix}primary")  # links, outlines
    return result


def font_stack(value: str) -> str:
    """A safe-list name (``system``, ``serif``…) or a CSS font stack (``Inter, 'Open Sans', sans-serif``)."""
    value = value.strip()
    if value in SAFE_FONTS:
        return SAFE_FONTS[value]
    if not FONT_STACK.match(value):
        names = ", ".join(sorted(SAFE_FONTS))
        raise RuleViolation(
            "invalid_font",
            f"font_family must be one of {names} or a font stack of names (letters, digits, spaces, "
            "hyphens; quoted with single quotes), separated by commas",
            field="font_family",
        )
    return value


def link_url(value: str, field: str) -> str:
    """An https URL or a site-relative path (``/portal/help``); never javascript:, data: or http:."""
    if value.startswith("/") and not value.startswith("//"):
        if any(ch in value for ch in "\"'<> \\") or not value.isprintable():
            raise RuleViolation("invalid_link", f"{field} is not a valid relative link", field=field)
        return value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or any(ch in value for ch in "\"'<> \\"):
        raise RuleViolation("invalid_link", f"{field} must be an https:// URL or start with /", field=field)
    return value


def host_name(value: str, field: str = "hosts") -> str:
    """A portal host: a lower-case DNS name without scheme or port."""
    host = value.strip().lower().rstrip(".")
    if not HOST_NAME.match(host):
        raise RuleViolation(
            "invalid_host", f"{value!r} is not a host name (like portal.example.com)", field=field
        )
    return host


def logo_type(data: bytes, declared: str) -> str:
    """The upload's image type, when its bytes really are that type and it is small enough."""
    declared = declared.split(";")[0].strip().lower()
    magic = LOGO_TYPES.get(declared)
    if magic is None:
        allowed = ", ".join(sorted(LOGO_TYPES))
        raise RuleViolation("unsupported_logo_type", f"A logo must be one of {allowed}", field="logo")
    if len(data) > MAX_LOGO_BYTES:
        raise RuleViolation(
            "logo_too_large", f"A logo may be at most {MAX_LOGO_BYTES // 1024} KB", field="logo"
        )
    if not data.startswith(magic) or (declared == "image/webp" and data[8:12] != b"WEBP"):
        raise RuleViolation("invalid_logo", f"The file is not a {declared} image", field="logo")
    return declared


def language(value: str) -> str:
    if value not in LANGUAGES:
        raise RuleViolation("invalid_language", "default_language must be en or es", field="default_language")
    return value


def style_block(variables: dict[str, str]) -> str:
    """The ``:root{…}`` rule of the portal's ``<style>`` (values already validated; checked again)."""
    for name, value in variables.items():
        if not re.match(r"^--[a-z\-]+$", name) or any(ch in value for ch in "<>{};\\"):
            raise ValueError(f"unsafe CSS variable {name}")
    return ":root{" + "".join(f"{name}:{value};" for name, value in variables.items()) + "}"
