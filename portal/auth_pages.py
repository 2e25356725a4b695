"""The portal's sign-in pages: sign up, log in (password, or an e-mailed one-time link), the link's
landing page, forgot and reset password, log out.

Login CSRF: the signed-out forms carry a pre-session token (double submit): the page sets a random
``mb_form`` cookie (Secure, HttpOnly, SameSite=Strict) and puts its HMAC (keyed with the secret key) in a
hidden ``form_token`` field; a POST whose field does not match its cookie is refused, and so is one whose
``Origin`` names another host. A cross-site page can neither read the cookie nor forge the field, so it
cannot sign a victim into the attacker's account. Log out is a POST with the session's own CSRF token.

After signing in, the browser goes to ``next`` when it is a path on this portal (``/portal/…``) or the
app's authorization request (``/oauth/authorize?…``): never another site (no open redirect).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from activities.identity import links
from activities.identity.errors import Refused
from activities.identity.login import password_login
from activities.identity.sessions import OpenedSession, revoke_session
from api.errors import ApiError
from api.identity_web import clear_session_cookie, client_address, operator_of, set_session_cookie, user_agent
from api.routes.subscriber_auth import perform_registration
from api.schemas.identity import Registration
from domain.errors import RuleViolation
from models.base import unit_of_work, utcnow
from portal.shell import PortalSubscriberDep, read_form, render

router = APIRouter(prefix="/portal", include_in_schema=False)
FORM_COOKIE = "mb_form"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this portal or the OAuth authorization, else /portal/."""
    if not target or "\\" in target or target.startswith("//"):
        return "/portal/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/portal/"
    if parts.path.startswith("/portal/") or parts.path == "/oauth/authorize":
        return target
    return "/portal/"


def _form_token(request: Request, cookie: str) -> str:
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, b"portal form:" + cookie.encode(), hashlib.sha256).hexdigest()


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    cookie = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, template, None, status, form_token=_form_token(request, cookie), **context)
    response.set_cookie(FORM_COOKIE, cookie, path="/portal/", secure=True, httponly=True, samesite="strict")
    return response


async def _signed_out_form(request: Request) -> dict[str, str] | None:
    """The form's fields, or None when its pre-session token or its Origin is wrong."""
    fields = await read_form(request, None)
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        return None
    cookie = request.cookies.get(FORM_COOKIE)
    sent = fields.get("form_token", "")
    if not cookie or not hmac.compare_digest(sent.encode(), _form_token(request, cookie).encode()):
        return None
    return fields


def _error(request: Request, code: str, fallback: str | None = None, **values: object) -> str:
    """The page's text for a refusal's code (the API's own detail, or "check the fields", otherwise)."""
    from portal.messages import text
    from portal.shell import language

    try:
        return text(language(request), f"auth.error.{code}", **values)
    except KeyError:
        return fallback or text(language(request), "auth.error.invalid_input")


def _refused_text(request: Request, refused: Refused) -> str:
    return _error(request, refused.code, seconds=refused.retry_after or 0)


def _go(target: str, opened: OpenedSession) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, opened)
    return response


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request) -> HTMLResponse:
    return _page(request, "auth/signup.html", values={})


@router.post("/signup", response_class=HTMLResponse)
async def signup(request: Request) -> Response:
    fields = await _signed_out_form(request)
    if fields is None:
        return _page(request, "auth/signup.html", 403, values={}, error=_error(request, "form_expired"))
    values = {k: fields.get(k, "") for k in ("given_name", "family_name", "email", "plan_code")}
    try:
        body = Registration.model_validate(
            {
                **{k: v for k, v in values.items() if v},
                "password": fields.get("password", ""),
                "language": request.cookies.get("mb_lang") or "en",
            }
        )
        await perform_registration(
            request, request.app.state.settings, request.app.state.temporal, body, fields["form_token"]
        )
    except ValidationError:
        return _page(request, "auth/signup.html", 422, values=values, error=_error(request, "invalid_input"))
    except RuleViolation as problem:
        return _page(request, "auth/signup.html", 422, values=values, error=_error(request, problem.code))
    except ApiError as problem:
        error = _error(request, problem.code, problem.detail)
        return _page(request, "auth/signup.html", problem.status, values=values, error=error)
    return render(request, "auth/sent.html", message_key="auth.sent.signup")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/portal/") -> HTMLResponse:
    return _page(request, "auth/login.html", next=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    fields = await _signed_out_form(request)
    if fields is None:
        return _page(request, "auth/login.html", 403, next="/portal/", error=_error(request, "form_expired"))
    target = safe_next(fields.get("next"))
    settings = request.app.state.settings

    def attempt() -> OpenedSession | Refused:
        with unit_of_work(settings.database_url or "") as session:
            return password_login(
                session,
                operator_of(request, session, None),
                fields.get("email", ""),
                fields.get("password", ""),
                now=utcnow(),
                ip_address=client_address(request),
                user_agent=user_agent(request),
            )

    outcome = await run_in_threadpool(attempt)
    if isinstance(outcome, Refused):
        status = 429 if outcome.status == 429 else 401 if outcome.status == 401 else 403
        page = _page(
            request,
            "auth/login.html",
            status,
            next=target,
            email=fields.get("email", ""),
            error=_refused_text(request, outcome),
        )
        if outcome.retry_after is not None:
            page.headers["Retry-After"] = str(outcome.retry_after)
        return page
    return _go(target, outcome)


async def _send_link(request: Request, purpose: str, template: str) -> Response:
    fields = await _signed_out_form(request)
    if fields is None:
        return _page(request, template, 403, next="/portal/", error=_error(request, "form_expired"))
    settings = request.app.state.settings

    def send() -> None:
        with unit_of_work(settings.database_url or "") as session:
            links.send_link(
                session,
                operator_of(request, session, None),
                fields.get("email", "")[:320],
                purpose,
                portal_url=settings.public_url,
                now=utcnow(),
            )

    await run_in_threadpool(send)
    return render(request, "auth/sent.html", message_key="auth.sent.link")


@router.post("/login/link-request", response_class=HTMLResponse)
async def request_link(request: Request) -> Response:
    return await _send_link(request, "login", "auth/login.html")


@router.get("/login/link", response_class=HTMLResponse)
def link_page(request: Request, token: str = "") -> HTMLResponse:
    """The e-mailed link lands here: a button, so a mail scanner opening the link uses nothing."""
    return _page(request, "auth/link.html", token=token[:200])


@router.post("/login/link", response_class=HTMLResponse)
async def link_login(request: Request) -> Response:
    fields = await _signed_out_form(request)
    if fields is None:
        return _page(request, "auth/link.html", 403, token="", error=_error(request, "form_expired"))
    settings = request.app.state.settings

    def redeem() -> OpenedSession:
        with unit_of_work(settings.database_url or "") as session:
            return links.link_login(
                session,
                fields.get("token", "")[:200],
                now=utcnow(),
                ip_address=client_address(request),
                user_agent=user_agent(request),
            )

    try:
        return _go("/portal/", await run_in_threadpool(redeem))
    except Refused as refused:
        return _page(
            request, "auth/link.html", refused.status, token="", error=_refused_text(request, refused)
        )


@router.get("/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> HTMLResponse:
    return _page(request, "auth/forgot.html")


@router.post("/forgot", response_class=HTMLResponse)
async def forgot(request: Request) -> Response:
    return await _send_link(request, "reset", "auth/forgot.html")


@router.get("/reset", response_class=HTMLResponse)
def reset_page(request: Request, token: str = "") -> HTMLResponse:
    return _page(request, "auth/reset.html", token=token[:200])


@router.post("/reset", response_class=HTMLResponse)
async def reset(request: Request) -> Response:
    fields = await _signed_out_form(request)
    if fields is None:
        return _page(request, "auth/reset.html", 403, token="", error=_error(request, "form_expired"))
    settings = request.app.state.settings
    token = fields.get("token", "")[:200]

    def redeem() -> OpenedSession:
        with unit_of_work(settings.database_url or "") as session:
            return links.reset_password(
                session,
                token,
                fields.get("password", "")[:1024],
                now=utcnow(),
                ip_address=client_address(request),
                user_agent=user_agent(request),
            )

    try:
        return _go("/portal/", await run_in_threadpool(redeem))
    except RuleViolation as problem:
        return _page(request, "auth/reset.html", 422, token=token, error=_error(request, problem.code))
    except Refused as refused:
        return _page(
            request, "auth/reset.html", refused.status, token="", error=_refused_text(request, refused)
        )


@router.post("/logout")
async def logout(request: Request, me: PortalSubscriberDep) -> Response:
    await read_form(request, me)  # the session's CSRF token
    settings = request.app.state.settings

    def revoke() -> None:
        with unit_of_work(settings.database_url or "") as session:
            revoke_session(session, me.subscriber.login_id, me.subscriber.session_id)

    await run_in_threadpool(revoke)
    response = RedirectResponse("/portal/login", status_code=303)
    clear_session_cookie(response)
    return response
