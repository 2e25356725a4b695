"""domain/branding.py: colours, WCAG contrast, fonts, links, hosts, logos and the style block."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import branding
from domain.errors import RuleViolation

hex_colours = st.integers(min_value=0, max_value=0xFFFFFF).map(lambda n: f"#{n:06x}")


def test_contrast_of_black_on_white_is_21_and_of_a_colour_with_itself_is_1() -> None:
    assert branding.contrast_ratio("#000000", "#ffffff").quantize(Decimal("0.01")) == Decimal("21.00")
    assert branding.contrast_ratio("#777777", "#777777") == Decimal(1)


def test_known_wcag_ratios() -> None:
    # #767676 on white is the classic 4.54:1 (passes); #777777 on white is 4.48:1 (fails)
    assert branding.contrast_ratio("#767676", "#ffffff").quantize(Decimal("0.01")) == Decimal("4.54")
    assert branding.contrast_ratio("#777777", "#ffffff").quantize(Decimal("0.01")) == Decimal("4.48")


@given(hex_colours, hex_colours)
def test_contrast_is_symmetric_and_between_1_and_21(a: str, b: str) -> None:
    ratio = branding.contrast_ratio(a, b)
    assert ratio == branding.contrast_ratio(b, a)
    assert Decimal(1) <= ratio <= Decimal("21.0001")


def test_a_primary_pair_below_4_5_is_refused_naming_the_field() -> None:
    with pytest.raises(RuleViolation) as refused:
        branding.colours("#777777", "#ffffff", "#ffffff", "#000000", "#b3261e")
    assert refused.value.code == "insufficient_contrast"
    assert refused.value.field == "on_primary"
    assert "4.48:1" in refused.value.message


def test_text_on_background_must_be_readable_too() -> None:
    with pytest.raises(RuleViolation) as refused:
        branding.colours("#0b5cad", "#ffffff", "#ffffff", "#aaaaaa", "#b3261e")
    assert refused.value.field == "text"


def test_valid_colours_are_lower_cased() -> None:
    result = branding.colours("#0B5CAD", "#FFFFFF", "#FFFFFF", "#1B1F24", "#B3261E")
    assert result.primary == "#0b5cad" and result.on_primary == "#ffffff"


@pytest.mark.parametrize("bad", ["red", "#fff", "#12345g", "#1234567", "#123456;}", "", "rgb(0,0,0)"])
def test_colours_must_be_six_digit_hex(bad: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        branding.colour(bad, "accent")
    assert refused.value.code == "invalid_colour" and refused.value.field == "accent"


def test_fonts_from_the_safe_list_or_a_strict_stack() -> None:
    assert branding.font_stack("serif") == branding.SAFE_FONTS["serif"]
    assert branding.font_stack("Inter, 'Open Sans', sans-serif") == "Inter, 'Open Sans', sans-serif"
    assert branding.font_stack("Fira Sans,Arial") == "Fira Sans,Arial"


@pytest.mark.parametrize(
    "bad",
    [
        "Arial; } body { display:none",
        "Arial</style><script>",
        'Arial, "Quoted"',
        "url(https://evil.example/font.woff)",
        "Arial, expression(alert(1))",
        "a, b, c, d, e, f, g",
        "",
    ],
)
def test_fonts_that_could_escape_the_style_block_are_refused(bad: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        branding.font_stack(bad)
    assert refused.value.field == "font_family"


@pytest.mark.parametrize("good", ["https://example.com/terms", "/portal/help", "https://a.b/c?d=e#f"])
def test_links_https_or_relative(good: str) -> None:
    assert branding.link_url(good, "footer_links.url") == good


@pytest.mark.parametrize(
    "bad",
    ["http://example.com", "javascript:alert(1)", "//evil.example/x", "data:text/html,x", "https://", "/a b"],
)
def test_other_links_are_refused(bad: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        branding.link_url(bad, "footer_links.url")
    assert refused.value.code == "invalid_link"


def test_hosts_are_bare_lower_case_names() -> None:
    assert branding.host_name("Portal.Example.COM.") == "portal.example.com"
    for bad in ["https://portal.example.com", "portal.example.com:8443", "-bad.example", "a b", ""]:
        with pytest.raises(RuleViolation):
            branding.host_name(bad)


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def test_logos_are_checked_by_their_bytes_and_size() -> None:
    assert branding.logo_type(PNG, "image/png") == "image/png"
    with pytest.raises(RuleViolation) as wrong:
        branding.logo_type(b"<svg/>", "image/png")
    assert wrong.value.code == "invalid_logo"
    with pytest.raises(RuleViolation) as svg:
        branding.logo_type(b"<svg/>", "image/svg+xml")
    assert svg.value.code == "unsupported_logo_type"
    with pytest.raises(RuleViolation) as big:
        branding.logo_type(PNG + b"\0" * branding.MAX_LOGO_BYTES, "image/png")
    assert big.value.code == "logo_too_large"


def test_the_style_block_refuses_anything_that_could_close_it() -> None:
    assert branding.style_block({"--primary": "#0b5cad"}) == ":root{--primary:#0b5cad;}"
    with pytest.raises(ValueError):
        branding.style_block({"--primary": "red}</style>"})
