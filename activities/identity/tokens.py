"""The app's OAuth 2.0 tokens (authorization code with PKCE, short-lived access tokens, rotating refresh
tokens, one app installation per subscriber_sessions row of kind 'app')."""

from __future__ import annotations

from sqlalchemy.orm import Session

from domain.subscribers import Subscriber


def find_app_subscriber(session: Session, access_token: str) -> Subscriber | None:
    """The subscriber of a live access token; None if unknown, expired or its installation is revoked."""
    return None  # the OAuth tables and their issuing flow come with the identity work (issue #18)
