"""The codec endpoint of the Temporal UI and CLI: ``POST /codec/decode`` and ``POST /codec/encode``.

Temporal's remote codec protocol: the body is proto3 JSON of ``temporal.api.common.v1.Payloads``
(``{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}``, every bytes field in
base64) and the answer has the same shape, run through runtime/codec.py. The UI or CLI names the
namespace in ``X-Namespace``; the keys are the same for every namespace this API connects to.

Who may call it: an admin API key of an operator organisation listed in ``MULTIBILL_CODEC_ORGANISATIONS``
(the staff who run Temporal; other operators on the platform, partners, agents and integrators are
refused with 403), sent as ``Authorization: Bearer <key>``:

* Temporal CLI: ``temporal workflow show -w <id> --codec-endpoint https://<api>/codec
  --codec-auth "Bearer mb_…"``.
* Temporal UI: ``codec.endpoint: https://<api>/codec`` in the UI server's config (or the
  ``TEMPORAL_CODEC_ENDPOINT`` variable, or per browser under "Codec Server"). The UI sends an
  ``Authorization`` header only with ``codec.passAccessToken: true``, and then it sends the access token
  of its own OIDC login, not a Multibill key: put an auth proxy in front of ``/codec`` that checks the UI's
  token and adds the staff key, or use the CLI. The browser calls the endpoint from the UI's origin: list
  that origin in ``MULTIBILL_CODEC_CORS_ORIGINS`` (JSON list).
* Development: ``multibill up`` starts the dev server's UI with ``--ui-codec-endpoint`` and sets
  ``MULTIBILL_CODEC_TRUST_LOOPBACK``, which lets loopback callers in without a key (the dev UI has no
  login); the setting is ignored outside ``MULTIBILL_ENVIRONMENT=development``.

The routes are kept out of the public OpenAPI document: they are not part of the integrators' contract
(an SDK has no use for Temporal's payloads), their body is Temporal's protocol rather than ours, and, being
pure transformations, they take no ``Idempotency-Key`` (the UI and CLI send none).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api.deps import SettingsDep, api_key_scheme, get_principal, require_operator
from api.errors import ApiError
from domain.organisations import Role
from runtime.codec import PayloadKeyError, payload_codec
from runtime.settings import Settings

PREFIX = "/codec"
router = APIRouter(prefix=PREFIX, tags=["codec"], include_in_schema=False)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def codec_caller(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(api_key_scheme)],
) -> str:
    """The organisation of the staff calling the codec ("loopback" for the development UI)."""
    if (
        settings.environment == "development"
        and settings.codec_trust_loopback
        and not request.headers.get("authorization")
        and _loopback(request)
    ):
        return "loopback"
    principal = await require_operator(Role.ADMIN)(await get_principal(request, settings, credentials))
    if principal.organisation_id not in settings.codec_organisations:
        raise ApiError(
            403,
            "codec_forbidden",
            "Only admins of the organisations in MULTIBILL_CODEC_ORGANISATIONS may read Temporal payloads",
        )
    return principal.organisation_id


CodecCallerDep = Annotated[str, Depends(codec_caller)]


def _payloads(body: Any) -> Payloads:
    try:
        return json_format.ParseDict(body, Payloads(), ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise ApiError(
            400,
            "invalid_payloads",
            'The body must be {"payloads": [{"metadata": {"<name>": "<base64>"}, "data": "<base64>"}]} '
            f"(Temporal's codec protocol): {exc}",
        ) from None


async def _run(settings: Settings, body: Any, action: Literal["encode", "decode"]) -> JSONResponse:
    payloads = _payloads(body)
    codec = payload_codec(settings)
    try:
        done = await (codec.decode if action == "decode" else codec.encode)(list(payloads.payloads))
    except PayloadKeyError as exc:
        raise ApiError(422, "payload_not_readable", str(exc)) from None
    return JSONResponse(json_format.MessageToDict(Payloads(payloads=done)) or {"payloads": []})


PayloadsBody = Annotated[dict[str, Any], Body(description="Temporal Payloads as proto3 JSON")]


@router.post("/decode")
async def decode(settings: SettingsDep, caller: CodecCallerDep, body: PayloadsBody) -> JSONResponse:
    """Open sealed payloads for the Temporal UI or CLI (unsealed ones come back as they are)."""
    return await _run(settings, body, "decode")


@router.post("/encode")
async def encode(settings: SettingsDep, caller: CodecCallerDep, body: PayloadsBody) -> JSONResponse:
    """Seal payloads the UI or CLI sends (a signal's or a start's input) with the current key."""
    return await _run(settings, body, "encode")


class CodecCors:
    """CORS for the codec routes only, for the origins in MULTIBILL_CODEC_CORS_ORIGINS (the Temporal UI's):
    the preflight is answered before authentication, and errors carry the headers too, so the UI shows
    the 401/403 instead of a network error."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
