"""The OAuth clients an operator registers: its apps (public clients, PKCE, exact redirect URIs)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models.base import utcnow
from models.identity import OAuthClient

DEMO_CLIENT_ID = "multibill-demo-app"
DEMO_REDIRECT_URI = "dev.multibill.app:/oauth/callback"


def register_client(
    session: Session, organisation_id: str, client_id: str, name: str, redirect_uris: list[str]
) -> OAuthClient:
    """Register a public client (again: nothing changes)."""
    session.execute(
        insert(OAuthClient)
        .values(
            id=client_id,
            organisation_id=organisation_id,
            name=name,
            redirect_uris=redirect_uris,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    found = session.get(OAuthClient, client_id)
    assert found is not None
    return found


def seed_demo_app(session: Session, organisation_id: str) -> OAuthClient:
    """The demo operator's app (what ``multibill seed`` / ``up`` sets up)."""
    return register_client(
        session, organisation_id, DEMO_CLIENT_ID, "Multibill demo app", [DEMO_REDIRECT_URI]
    )
