"""Who is calling from the subscriber's side (the portal or the app): a signed-in subscriber login, the
account it belongs to and the accounts it may see (its own and, for a B2B parent, its children's).

A plain value (no I/O). Staff keys are ``domain.principal.Principal``; the two never mix: a staff key
cannot call ``/v1/me/…`` and a subscriber's session cannot call a staff route.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SessionKind(StrEnum):
    PORTAL = "portal"  # a browser session: a secure HttpOnly cookie plus a CSRF token
    APP = "app"  # an app installation (OAuth 2.0 with PKCE): short-lived access tokens, rotating refresh


SESSION_COOKIE = "mb_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Subscriber:
    login_id: str
    organisation_id: str
    account_id: str  # the login's own account
    account_ids: tuple[str, ...]  # the accounts it may see: its own first, then its children (B2B)
    session_id: str  # the portal session or app installation the request came through
    kind: SessionKind

    def may_see(self, account_id: str | None) -> bool:
        return account_id is not None and account_id in self.account_ids


__all__ = ["CSRF_FIELD", "CSRF_HEADER", "SESSION_COOKIE", "SessionKind", "Subscriber"]
