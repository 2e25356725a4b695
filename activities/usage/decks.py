"""Rate decks in the system of record: versions are immutable, compiled once per process.

A correction is a new version (same code and currency); for an event the latest version whose
``effective_from`` has come applies, so publishing a corrected version effective from the start of a
period and re-rating that period bills the difference.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from threading import Lock

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.ids import new_id
from domain.tariff_specs import RateDeckSpec, compile_deck
from domain.tariffs import RateDeck
from models.usage import RateDeckVersion

_CACHE: OrderedDict[str, RateDeck] = OrderedDict()
_CACHE_LOCK = Lock()
_CACHE_SIZE = 32


@dataclass(frozen=True)
class DeckVersion:
    id: str
    code: str
    version: int
    effective_from: datetime
    deck: RateDeck

    @property
    def ref(self) -> str:
        return f"deck {self.code}@{self.version}"


def add_deck_version(
    session: Session, organisation_id: str, spec: RateDeckSpec, effective_from: datetime
) -> RateDeckVersion:
    compile_deck(spec)  # refuse what would not rate
    current = session.execute(
        select(func.max(RateDeckVersion.version)).where(
            RateDeckVersion.organisation_id == organisation_id,
            RateDeckVersion.code == spec.code,
            RateDeckVersion.currency == spec.currency,
        )
    ).scalar_one_or_none()
    row = RateDeckVersion(
        id=new_id("rdk"),
        organisation_id=organisation_id,
        code=spec.code,
        currency=spec.currency,
        version=(current or 0) + 1,
        effective_from=effective_from,
        destinations=len(spec.destinations),
        spec=spec.model_dump(mode="json"),
    )
    session.add(row)
    session.flush()
    return row


def _compiled(row: RateDeckVersion) -> RateDeck:
    with _CACHE_LOCK:
        deck = _CACHE.get(row.id)
        if deck is not None:
            _CACHE.move_to_end(row.id)
            return deck
    deck = compile_deck(RateDeckSpec.model_validate(row.spec))
    with _CACHE_LOCK:
        _CACHE[row.id] = deck
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return deck


class DeckBook:
    """The deck versions of one catalogue and currency, loaded lazily per code (metric)."""

    def __init__(self, session: Session, organisation_id: str, currency: str) -> None:
        self._session = session
        self._org = organisation_id
        self._currency = currency
        self._versions: dict[str, list[tuple[str, int, datetime]]] = {}
        self._rows: dict[str, RateDeckVersion] = {}

    def _load(self, code: str) -> list[tuple[str, int, datetime]]:
        versions = self._versions.get(code)
        if versions is None:
            rows = self._session.execute(
                select(RateDeckVersion.id, RateDeckVersion.version, RateDeckVersion.effective_from)
                .where(
                    RateDeckVersion.organisation_id == self._org,
                    RateDeckVersion.code == code,
                    RateDeckVersion.currency == self._currency,
                )
                .order_by(RateDeckVersion.version.desc())
            ).all()
            versions = self._versions[code] = [(r[0], r[1], r[2]) for r in rows]
        return versions

    def has(self, code: str) -> bool:
        return bool(self._load(code))

    def at(self, code: str, when: datetime) -> DeckVersion | None:
        """The latest version of deck ``code`` effective at ``when`` (None when none is yet)."""
        for deck_id, version, effective_from in self._load(code):
            if effective_from <= when:
                row = self._rows.get(deck_id) or self._session.get(RateDeckVersion, deck_id)
                assert row is not None
                self._rows[deck_id] = row
                return DeckVersion(deck_id, code, version, effective_from, _compiled(row))
        return None


def deck_versions(session: Session, organisation_id: str, code: str) -> list[RateDeckVersion]:
    return list(
        session.execute(
            select(RateDeckVersion)
            .where(RateDeckVersion.organisation_id == organisation_id, RateDeckVersion.code == code)
            .order_by(RateDeckVersion.currency, RateDeckVersion.version)
        ).scalars()
    )
