"""The portal's texts per language, one module per area (``shell``, ``auth``, ``billing``, ``care``…), each
a ``TEXTS = {"en": {...}, "es": {...}}`` dict of keys namespaced by the area (``billing.invoices.title``).

Every key exists in both languages (a test checks it). Templates call ``t("key", name=value)``.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

LANGUAGES = ("en", "es")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for lang in LANGUAGES:
            for key, text in module.TEXTS.get(lang, {}).items():
                if key in merged[lang]:
                    raise ValueError(f"portal text {key!r} ({lang}) is defined twice")
                merged[lang][key] = text
    return merged


def text(lang: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``lang`` (English if missing), with ``{name}`` placeholders filled."""
    texts = catalogue()
    found = texts.get(lang, {}).get(key) or texts["en"].get(key)
    if found is None:
        raise KeyError(f"portal text {key!r} is not defined; add it to portal/messages/")
    return found.format(**values) if values else found
