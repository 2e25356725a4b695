"""/oauth: OAuth 2.0 for the operator's app (activities/identity/oauth.py, with Authlib).

- ``GET /oauth/authorize``: the authorization-code request with PKCE (S256). A browser without a portal
  session is sent to the portal's login page, which comes back here; a signed-in subscriber gets the
  code at once on the client's registered redirect URI (the client is the operator's own first-party
  app, so there is no separate consent screen).
- ``POST /oauth/token``: ``authorization_code`` (with ``code_verifier``) or ``refresh_token`` (rotating).
- ``POST /oauth/revoke``: RFC 7009; revoking either token signs the app installation out.

These take ``application/x-www-form-urlencoded`` bodies and no ``Idempotency-Key``: RFC 6749 and RFC 7009
define the requests exactly and clients send no extra headers; a code is single use and a refresh token
rotates, so a retry cannot issue twice. Errors are problem+json whose ``code`` is the OAuth ``error``,
which the body also carries as ``error`` and ``error_description`` (what OAuth clients read).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]
from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from activities.identity.oauth import Answer, FormRequest, MultibillOAuth
from api.deps import SettingsDep
from api.docs import problem_response
from api.errors import problem
from api.identity_web import user_agent
from api.subscriber_deps import portal_session
from models.base import unit_of_work, utcnow
from models.subscribers import SubscriberLogin

router = APIRouter(prefix="/oauth", tags=["oauth"])

Field = Annotated[str | None, Form(max_length=500)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_problem(request: Request, answer: Answer) -> Response:
    error = str(answer.body.get("error", "invalid_request"))
    detail = str(answer.body.get("error_description") or error.replace("_", " "))
    response = problem(answer.status, error, detail, request.url.path, error=error, error_description=detail)
    response.headers.update(NO_STORE)
    return response


def _answer(request: Request, answer: Answer) -> Response:
    if answer.status >= 400:
        return _oauth_problem(request, answer)
    return JSONResponse(answer.body, status_code=answer.status, headers=NO_STORE)


class TokenOut(BaseModel):
    """The token endpoint's answer (RFC 6749 5.1)."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int
    refresh_token: str
    scope: str | None = None


class RevokedOut(BaseModel):
    """The revocation endpoint's answer: always empty (RFC 7009 2.2)."""


@router.get(
    "/authorize",
    status_code=302,
    summary="Authorization request (code with PKCE S256): redirects to the app with a code",
    responses={
        302: {"description": "To the app's redirect URI, with the code (or the error) and the state"},
        303: {"description": "Not signed in: to the portal's login page, which comes back here"},
        400: problem_response("`invalid_client`, `invalid_request` (e.g. no PKCE): not redirected"),
    },
)
async def authorize(
    request: Request,
    settings: SettingsDep,
    client_id: Annotated[str, Query(max_length=64)],
    response_type: Annotated[str, Query(max_length=20)],
    code_challenge: Annotated[str | None, Query(max_length=128)] = None,
    code_challenge_method: Annotated[str | None, Query(max_length=10)] = None,
    redirect_uri: Annotated[str | None, Query(max_length=500)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    scope: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    found = await run_in_threadpool(portal_session, request, settings)
    if found is None:
        here = f"{request.url.path}?{request.url.query}"
        return RedirectResponse(f"/portal/login?next={quote(here, safe='')}", status_code=303)
    fields = {k: v for k, v in request.query_params.items()}

    def grant() -> Answer:
        with unit_of_work(settings.database_url or "") as session:
            login = session.get(SubscriberLogin, found.subscriber.login_id)
            server = MultibillOAuth(session, found.subscriber.organisation_id, utcnow())
            oauth_request = FormRequest("GET", request.url.path, fields, user_agent(request))
            try:
                consent = server.get_consent_grant(oauth_request, end_user=login)
            except OAuth2Error as error:
                answer: Answer = server.handle_error_response(oauth_request, error)
                return answer
            done: Answer = server.create_authorization_response(oauth_request, login, consent)
            return done

    answer = await run_in_threadpool(grant)
    location = answer.headers.get("Location")
    if location and answer.status == 302:
        return RedirectResponse(location, status_code=302)
    return _oauth_problem(request, answer)


@router.post(
    "/token",
    summary="Exchange a code (with code_verifier) or a refresh token (rotated) for tokens",
    responses={
        200: {
            "model": TokenOut,
            "description": "access_token (15 min), refresh_token (use once), expires_in, token_type",
        },
        400: problem_response("`invalid_grant`, `invalid_request`, `unsupported_grant_type`"),
        401: problem_response("`invalid_client`"),
    },
)
async def token(
    request: Request,
    settings: SettingsDep,
    grant_type: Annotated[str, Form(max_length=40)],
    client_id: Annotated[str, Form(max_length=64)],
    code: Field = None,
    redirect_uri: Field = None,
    code_verifier: Annotated[str | None, Form(max_length=128)] = None,
    refresh_token: Field = None,
) -> Response:
    fields = await _fields(request)

    def exchange() -> Answer:
        with unit_of_work(settings.database_url or "") as session:
            server = MultibillOAuth(session, None, utcnow())
            oauth_request = FormRequest("POST", request.url.path, fields, user_agent(request))
            answer: Answer = server.create_token_response(oauth_request)
            return answer  # committed even when refused: a detected reuse revokes the installation

    return _answer(request, await run_in_threadpool(exchange))


@router.post(
    "/revoke",
    summary="Revoke an access or refresh token (RFC 7009): the app installation is signed out",
    responses={
        200: {
            "model": RevokedOut,
            "description": "Always an empty object, whether the token was known or not",
        }
    },
)
async def revoke(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=500)],
    client_id: Annotated[str, Form(max_length=64)],
    token_type_hint: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    fields = await _fields(request)

    def revoke_it() -> Answer:
        with unit_of_work(settings.database_url or "") as session:
            server = MultibillOAuth(session, None, utcnow())
            oauth_request = FormRequest("POST", request.url.path, fields, user_agent(request))
            answer: Answer = server.create_endpoint_response("revocation", oauth_request)
            return answer

    return _answer(request, await run_in_threadpool(revoke_it))


async def _fields(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}
