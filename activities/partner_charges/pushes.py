"""Charges a push provider posts to our webhook: the signature checked by the provider's adapter against
the operator's connection, then stored as received (one transaction). Nothing is stored when the
signature does not verify."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from activities.partner_charges.receiving import store_received
from activities.partner_charges.sessions import connection_spec
from domain.ids import is_valid_id
from integrations.partners.base import BadSignature, PartnerError, PartnerRegistry
from models.base import unit_of_work
from models.partners import PartnerConnection
from runtime.settings import Settings

log = logging.getLogger(__name__)


class UnknownPushProvider(LookupError):
    """No push provider of this name is installed."""


class PushRefused(Exception):
    """The push is not signed by a known connection (``code``: invalid_signature) or does not parse."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PushReceived:
    organisation_id: str
    charges: int
    new: int
    repeats: int


def push_provider_known(registry: PartnerRegistry, provider: str) -> bool:
    return provider in registry.names() and registry.get(provider).charges_by == "push"


def receive_push(
    settings: Settings,
    registry: PartnerRegistry,
    provider: str,
    connection_id: str | None,
    headers: Mapping[str, str],
    body: bytes,
) -> PushReceived:
    """Verify and store one push; ``PushRefused`` (logged) when it is not from the connection it names."""
    if not push_provider_known(registry, provider):
        raise UnknownPushProvider(provider)
    adapter = registry.get(provider)
    with unit_of_work(settings.database_url or "") as session:
        row = (
            session.get(PartnerConnection, connection_id)
            if connection_id and is_valid_id(connection_id, "pcon")
            else None
        )
        if row is None or row.provider != provider or not row.enabled:
            log.warning("refused a %s push: no enabled connection %r", provider, connection_id)
            raise PushRefused("invalid_signature", "the push is not signed by a known connection")
        try:
            charges = adapter.parse_pushed_charges(connection_spec(settings, row), headers, body)
        except BadSignature as exc:
            log.warning("refused a %s push for connection %s: %s", provider, row.id, exc)
            raise PushRefused("invalid_signature", f"the signature does not verify ({exc.code})") from exc
        except PartnerError as exc:
            log.warning("refused a %s push for connection %s: %s", provider, row.id, exc)
            raise PushRefused("invalid_push", exc.message) from exc
        stored = store_received(session, row.organisation_id, provider, charges, datetime.now(UTC))
        return PushReceived(row.organisation_id, len(charges), stored.new, stored.repeats)
