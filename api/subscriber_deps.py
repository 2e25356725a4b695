"""Request dependencies of the subscriber's side (``/v1/me/…``, the portal): who is signed in.

Two ways in, never mixed with staff API keys:
- the portal's session cookie (``mb_session``: Secure, HttpOnly, SameSite=Lax) — an unsafe request
  (POST, PUT, PATCH, DELETE) must also carry the session's CSRF token in the ``X-CSRF-Token`` header (the
  portal's server-rendered forms send it as the ``csrf_token`` field and check it themselves);
- the app's OAuth 2.0 access token (``Authorization: Bearer …``), issued by the authorization-code flow
  with PKCE (activities/identity/).
Anything else is a 401 ``unauthenticated``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from activities.accounts.organisations import authenticate
from activities.identity.sessions import FoundSession, csrf_matches, find_portal_session
from api.deps import IdempotencyKeyDep, SettingsDep
from api.errors import ApiError
from api.idempotency import IdempotentWrite
from domain.subscribers import CSRF_HEADER, SESSION_COOKIE, Subscriber
from models.base import unit_of_work
from runtime import logs
from runtime.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def portal_session(request: Request, settings: Settings) -> FoundSession | None:
    """The portal session named by the request's cookie, if it is live."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with unit_of_work(settings.database_url or "") as session:
        return find_portal_session(session, token)


def app_subscriber(request: Request, settings: Settings) -> Subscriber | None:
    """The subscriber of the request's app access token (``Authorization: Bearer``), if it is live."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    from activities.identity.tokens import find_app_subscriber  # the OAuth part of the identity area

    with unit_of_work(settings.database_url or "") as session:
        return find_app_subscriber(session, token.strip())


def _is_staff_key(request: Request, settings: Settings) -> bool:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    with unit_of_work(settings.database_url or "") as session:
        return bool(token) and authenticate(session, token) is not None


def get_subscriber(request: Request, settings: SettingsDep) -> Subscriber:
    if request.headers.get("authorization"):
        subscriber = app_subscriber(request, settings)
        if subscriber is None and _is_staff_key(request, settings):
            raise ApiError(
                403,
                "subscriber_only",
                "This is the subscriber's own API: sign in as the subscriber, not with a staff key",
            )
        if subscriber is None:
            raise ApiError(
                401, "invalid_access_token", "The access token is unknown, expired or revoked; refresh it"
            )
    else:
        found = portal_session(request, settings)
        if found is None:
            raise ApiError(
                401, "unauthenticated", "Sign in first (the portal's session cookie is missing or expired)"
            )
        if request.method not in SAFE_METHODS and not csrf_matches(found, request.headers.get(CSRF_HEADER)):
            raise ApiError(
                403, "csrf_token_invalid", f"Send the session's CSRF token in the {CSRF_HEADER} header"
            )
        subscriber = found.subscriber
    logs.bind(organisation_id=subscriber.organisation_id)
    return subscriber


SubscriberDep = Annotated[Subscriber, Depends(get_subscriber)]
"""The signed-in subscriber (portal cookie with CSRF on writes, or an app access token)."""


def subscriber_write(
    request: Request, subscriber: SubscriberDep, settings: SettingsDep, key: IdempotencyKeyDep
) -> IdempotentWrite:
    """A subscriber's POST, idempotent per login, Idempotency-Key and path (two subscribers of one
    operator may pick the same key)."""
    return IdempotentWrite(
        settings.database_url or "",
        subscriber.organisation_id,
        f"{subscriber.login_id}:{key}",
        request.url.path,
    )


SubscriberWriteDep = Annotated[IdempotentWrite, Depends(subscriber_write)]
