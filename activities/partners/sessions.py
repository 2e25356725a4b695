"""Talking to a provider for one operator: load its enabled connection, open the sealed secret and
connect through the registry. Used by every partner activity (memberships here, charges elsewhere)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import partners
from domain.errors import RuleViolation
from integrations.partners import base
from integrations.partners.base import PartnerRegistry, PartnerSession
from models.partners import PartnerConnection
from runtime.settings import Settings


class PartnerNotConnected(RuleViolation):
    """The organisation has no (enabled) connection to the provider, or the provider is not installed."""

    status = 409


def connection_of(session: Session, organisation_id: str, provider: str) -> PartnerConnection | None:
    """The organisation's connection to ``provider`` (enabled or not), else None."""
    return session.execute(
        select(PartnerConnection).where(
            PartnerConnection.organisation_id == organisation_id, PartnerConnection.provider == provider
        )
    ).scalar_one_or_none()


def connection_details(row: PartnerConnection, settings: Settings) -> base.PartnerConnection:
    """The provider-facing credentials of a stored connection (the secret unsealed)."""
    secret = partners.secret_vault(settings.data_key).open(row.secret_sealed, row.id)
    return base.PartnerConnection(
        provider=row.provider,
        base_url=row.base_url,
        partner_id=row.partner_id,
        secret=secret,
        options=dict(row.options or {}),
    )


def partner_session(
    session: Session, settings: Settings, registry: PartnerRegistry, organisation_id: str, provider: str
) -> PartnerSession:
    """A session with ``provider`` for the organisation, over its enabled connection.

    Raises ``PartnerNotConnected`` (code ``partner_not_connected``, ``partner_connection_disabled`` or
    ``partner_provider_unknown``) naming the organisation and the provider when it cannot."""
    row = connection_of(session, organisation_id, provider)
    if row is None:
        raise PartnerNotConnected(
            "partner_not_connected",
            f"organisation {organisation_id} has no connection to partner {provider!r}: "
            "create one with POST /v1/partner-connections",
            field="provider",
        )
    if not row.enabled:
        raise PartnerNotConnected(
            "partner_connection_disabled",
            f"organisation {organisation_id}'s connection to partner {provider!r} ({row.id}) is disabled",
            field="provider",
        )
    try:
        adapter = registry.get(provider)
    except KeyError as exc:
        raise PartnerNotConnected(
            "partner_provider_unknown",
            f"organisation {organisation_id} is connected to partner {provider!r}, but {exc.args[0]}",
            field="provider",
        ) from None
    return adapter.connect(connection_details(row, settings))
