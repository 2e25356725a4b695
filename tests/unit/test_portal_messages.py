"""Every portal text exists in English and Spanish, with the same placeholders."""

from __future__ import annotations

import importlib
import pkgutil
import string

import portal.messages
from portal.messages import LANGUAGES


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_area_has_the_same_keys_in_every_language() -> None:
    areas = [info.name for info in pkgutil.iter_modules(portal.messages.__path__)]
    assert "shell" in areas and "dashboard" in areas
    for area in areas:
        texts = importlib.import_module(f"portal.messages.{area}").TEXTS
        assert set(texts) == set(LANGUAGES), area
        english = texts["en"]
        for lang in LANGUAGES:
            assert set(texts[lang]) == set(english), (area, lang, set(texts[lang]) ^ set(english))
            for key, text in texts[lang].items():
                assert "." in key, (area, key)  # namespaced: area.page.thing
                assert text.strip(), (area, lang, key)
                assert _placeholders(text) == _placeholders(english[key]), (area, lang, key)


def test_the_catalogue_merges_every_area_without_clashes() -> None:
    merged = portal.messages.catalogue()
    assert set(merged["en"]) == set(merged["es"])
    assert merged["es"]["shell.logout"] == "Cerrar sesión"
