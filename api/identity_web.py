"""What the identity routes and the portal's sign-in pages share: the operator of a signed-out request,
the client's address, the session cookie, and a refusal as problem+json (with Retry-After on a 429)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from activities.identity.errors import Refused
from activities.identity.sessions import OpenedSession
from api.errors import ApiError, problem
from domain.subscribers import SESSION_COOKIE
from models.base import utcnow
from models.organisations import Organisation
from portal.operator import portal_operator


def operator_of(request: Request, session: Session, organisation_id: str | None) -> str:
    """The operator named in the body (an app's), else the portal's (portal.operator)."""
    if organisation_id is None:
        return portal_operator(request, session)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or organisation.kind != "operator":
        raise ApiError(404, "operator_unknown", f"No operator {organisation_id} takes subscribers here")
    return organisation.id


def client_address(request: Request) -> str | None:
    """The caller's address (api.forwarded has put the ingress's X-Forwarded-For there)."""
    return request.client.host if request.client else None


def user_agent(request: Request) -> str | None:
    return request.headers.get("user-agent")


def set_session_cookie(response: Response, opened: OpenedSession) -> None:
    """The portal's session cookie: Secure, HttpOnly, SameSite=Lax, for the whole site."""
    max_age = max(0, int((opened.expires_at - utcnow()).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")


def refusal(request: Request, refused: Refused) -> JSONResponse:
    extra: dict[str, Any] = {}
    response = problem(refused.status, refused.code, refused.detail, request.url.path, **extra)
    if refused.retry_after is not None:
        response.headers["Retry-After"] = str(refused.retry_after)
    return response


def signed_in_body(opened: OpenedSession) -> dict[str, Any]:
    return {
        "session_id": opened.session_id,
        "csrf_token": opened.csrf_token,
        "expires_at": opened.expires_at.isoformat(),
    }
