"""/v1/subscriber-auth: a subscriber registers, signs in (password or an e-mailed one-time link), resets
the password and signs out. No API key: these are the subscriber's own doors.

Registration needs an ``Idempotency-Key`` (it creates an account). Signing in, asking for a link and
redeeming one do not: a retried sign-in opens one more session (the unused one expires), a link can be
asked for again, and a redeemed link is single use by itself. Every answer that could tell whether an
address is registered is the same for both (202 for registrations and link requests, 401
``invalid_credentials`` for a wrong password or an unknown address; throttling counts both alike).

Login CSRF: these routes take JSON bodies only (a ``text/plain`` or form body is a 422), which a page of
another site cannot send without a CORS preflight that this API does not grant; the portal's own forms
carry a pre-session token (portal/auth_pages.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from activities.identity import links, registration
from activities.identity.errors import Refused
from activities.identity.login import password_login
from activities.identity.sessions import OpenedSession, revoke_session
from api.deps import IdempotencyKeyDep, SettingsDep, TemporalGateway, TemporalGatewayDep
from api.docs import problem_response
from api.errors import ApiError
from api.idempotency import run_once
from api.identity_web import (
    clear_session_cookie,
    client_address,
    operator_of,
    refusal,
    set_session_cookie,
    signed_in_body,
    user_agent,
)
from api.processes import start_account_verification
from api.schemas.identity import (
    LinkLogin,
    LinkRequest,
    LinkSent,
    PasswordLogin,
    PasswordReset,
    Registered,
    Registration,
    SignedIn,
    SignedOut,
)
from api.subscriber_deps import SubscriberDep
from models.accounts import Account
from models.base import unit_of_work, utcnow
from runtime.settings import Settings

router = APIRouter(prefix="/v1/subscriber-auth", tags=["subscriber identity"])

_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
LOCKED: dict[int | str, dict[str, Any]] = {
    429: problem_response(
        "`login_locked` (too many failures for this e-mail) or `login_rate_limited` (for your address)",
        headers=_RETRY_AFTER,
    )
}
LINK_ERRORS: dict[int | str, dict[str, Any]] = {
    410: problem_response("`link_used` or `link_expired`: ask for a new link"),
}


@router.post(
    "/registrations",
    status_code=202,
    response_model=Registered,
    summary="Register: an account and its login; a confirmation link goes to the e-mail",
)
async def register(
    body: Registration,
    request: Request,
    key: IdempotencyKeyDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
) -> Response:
    """The same 202 whether or not the address was already registered (a known address is sent a
    "you already have an account" e-mail). The login works once the e-mail is confirmed."""
    raw = await perform_registration(request, settings, temporal, body, key)
    return Response(raw, status_code=202, media_type="application/json")


async def perform_registration(
    request: Request, settings: Settings, temporal: TemporalGateway, body: Registration, key: str
) -> bytes:
    """Register once per key (the API's Idempotency-Key, the portal form's token) and start the
    e-mail's verification after the commit (again on a replay, in case the first start failed)."""
    started: list[dict[str, Any]] = []
    fields = body.model_dump(
        mode="json", exclude_none=True, exclude={"password", "plan_code", "organisation_id"}
    )
    fingerprint = body.model_dump(mode="json", exclude={"password"})

    def write() -> tuple[bytes, bool]:
        with unit_of_work(settings.database_url or "") as session:
            organisation_id = operator_of(request, session, body.organisation_id)

            def produce() -> tuple[int, dict[str, Any]]:
                done = registration.register(
                    session,
                    organisation_id,
                    {**fields, "type": "person"},
                    password=body.password,
                    plan_code=body.plan_code,
                    ip_address=client_address(request),
                    portal_url=settings.public_url,
                )
                started.extend([done.account] if done.account else [])
                return 202, Registered().model_dump(mode="json")

            stored = run_once(
                session,
                organisation_id=organisation_id,
                key=f"subscriber-registration:{key}",
                method="POST",
                path=request.url.path,
                payload=fingerprint,
                produce=produce,
            )
            if stored.replayed:
                started.extend(_pending_verification(session, organisation_id, str(body.email)))
            return stored.raw, stored.replayed

    try:
        raw, replayed = await run_in_threadpool(write)
    except Refused as refused:  # an unknown operator or plan: nothing was written
        raise ApiError(refused.status, refused.code, refused.detail) from refused
    for account in started:
        await start_account_verification(await temporal.client(), settings, account, replayed=replayed)
    return raw


def _pending_verification(session: Session, organisation_id: str, email: str) -> list[dict[str, Any]]:
    """On a replayed registration: the verification to (re)start, if the first answer could not."""
    login = registration.find_login(session, organisation_id, email)
    account = session.get(Account, login.account_id) if login else None
    if account is None or account.verification_status != "pending" or not account.verification_process_id:
        return []
    return [
        {
            "id": account.id,
            "organisation_id": account.organisation_id,
            "email": account.email,
            "display_name": account.display_name,
            "language": account.language,
            "process_id": account.verification_process_id,
        }
    ]


def _signed_in(opened: OpenedSession) -> JSONResponse:
    response = JSONResponse(signed_in_body(opened))
    set_session_cookie(response, opened)
    return response


@router.post(
    "/login",
    response_model=SignedIn,
    summary="Sign in with e-mail and password (sets the portal's session cookie)",
    responses={**LOCKED, 401: problem_response("`invalid_credentials`: wrong e-mail or password")},
)
async def login(body: PasswordLogin, request: Request, settings: SettingsDep) -> Response:
    def attempt() -> OpenedSession | Refused:
        with unit_of_work(settings.database_url or "") as session:
            organisation_id = operator_of(request, session, body.organisation_id)
            return password_login(
                session,
                organisation_id,
                str(body.email),
                body.password,
                now=utcnow(),
                ip_address=client_address(request),
                user_agent=user_agent(request),
            )

    outcome = await run_in_threadpool(attempt)
    if isinstance(outcome, Refused):
        return refusal(request, outcome)
    return _signed_in(outcome)


async def _send(request: Request, settings: Any, body: LinkRequest, purpose: str) -> Response:
    def send() -> None:
        with unit_of_work(settings.database_url or "") as session:
            organisation_id = operator_of(request, session, body.organisation_id)
            links.send_link(
                session,
                organisation_id,
                str(body.email),
                purpose,
                portal_url=settings.public_url,
                now=utcnow(),
            )

    await run_in_threadpool(send)
    return JSONResponse(LinkSent().model_dump(mode="json"), status_code=202)


@router.post(
    "/login-links",
    status_code=202,
    response_model=LinkSent,
    summary="E-mail a one-time sign-in link (15 minutes)",
)
async def request_login_link(body: LinkRequest, request: Request, settings: SettingsDep) -> Response:
    return await _send(request, settings, body, "login")


@router.post(
    "/login-links/redeem",
    response_model=SignedIn,
    summary="Sign in with the token of an e-mailed link (once)",
    responses=LINK_ERRORS,
)
async def redeem_login_link(body: LinkLogin, request: Request, settings: SettingsDep) -> Response:
    return await _redeem(
        request, settings, lambda session, seen: links.link_login(session, body.token, **seen)
    )


@router.post(
    "/password-resets",
    status_code=202,
    response_model=LinkSent,
    summary="E-mail a one-time password-reset link (1 hour)",
)
async def request_password_reset(body: LinkRequest, request: Request, settings: SettingsDep) -> Response:
    return await _send(request, settings, body, "reset")


@router.post(
    "/password-resets/redeem",
    response_model=SignedIn,
    summary="Set a new password with the token of a reset link; signs out every other device",
    responses=LINK_ERRORS,
)
async def redeem_password_reset(body: PasswordReset, request: Request, settings: SettingsDep) -> Response:
    return await _redeem(
        request,
        settings,
        lambda session, seen: links.reset_password(session, body.token, body.password, **seen),
    )


async def _redeem(
    request: Request, settings: Settings, redeem: Callable[[Session, dict[str, Any]], OpenedSession]
) -> Response:
    """Use an e-mailed link's token (one transaction): signed in, or the refusal (used, expired, unknown)."""

    def run() -> OpenedSession:
        seen = {"now": utcnow(), "ip_address": client_address(request), "user_agent": user_agent(request)}
        with unit_of_work(settings.database_url or "") as session:
            return redeem(session, seen)

    try:
        return _signed_in(await run_in_threadpool(run))
    except Refused as refused:
        return refusal(request, refused)


@router.post(
    "/logout",
    response_model=SignedOut,
    summary="Sign this browser out (the portal session is revoked and its cookie cleared)",
)
async def logout(subscriber: SubscriberDep, settings: SettingsDep) -> Response:
    """An app signs out with POST /oauth/revoke instead."""
    if subscriber.kind.value != "portal":
        raise ApiError(409, "not_a_portal_session", "An app signs out with POST /oauth/revoke")

    def revoke() -> None:
        with unit_of_work(settings.database_url or "") as session:
            revoke_session(session, subscriber.login_id, subscriber.session_id)

    await run_in_threadpool(revoke)
    response = JSONResponse(SignedOut().model_dump(mode="json"))
    clear_session_cookie(response)
    return response
