"""Request dependencies: settings, the database session, the calling principal, role checks, the one
idempotent-write dependency, the Temporal client."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from temporalio.client import Client

from activities.accounts.organisations import authenticate
from api.errors import ApiError
from api.idempotency import IdempotentWrite
from domain.organisations import Role
from domain.principal import Principal
from models.base import unit_of_work
from runtime import logs
from runtime.settings import Settings
from runtime.telemetry import client_interceptors
from runtime.temporal import connect, ensure_search_attributes

log = logging.getLogger(__name__)


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """The request's unit of work: it commits once the route has returned and its answer is rendered,
    before the answer is sent; it rolls back if the route raises (the error handlers then answer, a
    database that is down included: 503 ``database_unavailable``)."""
    with unit_of_work(settings.database_url or "") as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""A route's database session (one transaction per request). Blocking: use it in plain ``def`` routes."""


api_key_scheme = HTTPBearer(
    scheme_name="ApiKey",
    bearerFormat="API key",
    description="Your organisation's API key: `Authorization: Bearer <key>`",
    auto_error=False,
)


API_KEY_CACHE_SECONDS = 10.0
"""How long a verified API key is trusted without looking it up again. A key revoked through this
process stops working at once (``ApiKeyCache.forget``); one revoked elsewhere (another API replica,
straight in the database) stops within this many seconds."""


class ApiKeyCache:
    """The principals of the API keys verified in the last ``API_KEY_CACHE_SECONDS``, by the SHA-256 of
    the whole bearer token (a hit means this exact token was verified against the database lately).
    Only keys that verified are kept: an unknown, malformed or revoked token is looked up every time."""

    def __init__(self, ttl: float = API_KEY_CACHE_SECONDS, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[bytes, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(self._digest(token))
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[self._digest(token)] = (time.monotonic() + self._ttl, principal)

    def forget(self, key_id: str) -> None:
        """Drop every entry of the key ``key_id`` (on its revocation)."""
        with self._lock:
            for digest in [d for d, (_, p) in self._entries.items() if p.key_id == key_id]:
                del self._entries[digest]


def api_key_cache(request: Request) -> ApiKeyCache:
    cache: ApiKeyCache = request.app.state.api_keys
    return cache


def _lookup_principal(database_url: str, token: str) -> Principal | None:
    with unit_of_work(database_url) as session:
        return authenticate(session, token)


async def get_principal(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(api_key_scheme)],
) -> Principal:
    """The caller's principal: from the key cache, else from the database (off the event loop)."""
    authorization = request.headers.get("authorization")
    if not authorization:
        raise ApiError(401, "unauthenticated", "Send your API key as `Authorization: Bearer <key>`")
    token = credentials.credentials if credentials is not None else ""
    if credentials is None or not token.strip():
        raise ApiError(401, "unauthenticated", "The Authorization header must be `Bearer <key>`")
    assert settings.database_url
    token = token.strip()
    cache = api_key_cache(request)
    principal = cache.get(token)
    if principal is None:
        principal = await run_in_threadpool(_lookup_principal, settings.database_url, token)
        if principal is None:
            raise ApiError(401, "invalid_api_key", "The API key is unknown or has been revoked")
        cache.put(token, principal)
    logs.bind(organisation_id=principal.organisation_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise ApiError(
                403, "forbidden", f"This needs one of the roles: {allowed}; your key is {principal.role}"
            )
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require_role(Role.ADMIN))]
StaffDep = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.AGENT, Role.INTEGRATOR))]


# --- Operator only -------------------------------------------------------------------------------
# What belongs to the operator (catalogue, rate decks, device models, rating, bill runs, the dunning
# ladder, voucher lots, provisioning tools, its settings) is written only by keys of the operator's own
# organisation; a partner's keys are refused whatever their role. Routes use these, never ad-hoc checks.


def require_operator(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        if not principal.is_operator:
            raise ApiError(
                403, "operator_only", "Only the operator's own staff may do this, not its partners"
            )
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise ApiError(403, "forbidden", f"This needs an operator key with one of the roles: {allowed}")
        return principal

    return check


OperatorAdminDep = Annotated[Principal, Depends(require_operator(Role.ADMIN))]
OperatorStaffDep = Annotated[Principal, Depends(require_operator(Role.ADMIN, Role.AGENT, Role.INTEGRATOR))]


def check_idempotency_key(key: str) -> str:
    """The key, stripped; 400 when it is blank, too long or not printable."""
    if not key.strip():
        raise ApiError(400, "idempotency_key_required", "Every POST needs an `Idempotency-Key` header")
    if len(key) > 255 or not key.isprintable():
        raise ApiError(
            400, "invalid_idempotency_key", "Idempotency-Key must be printable and at most 255 chars"
        )
    return key.strip()


async def idempotency_key(  # async: no I/O, so no thread-pool hop per request
    key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            description="Required: unique per intended operation; a retry sends the same key "
            "(a missing key is a 400 `idempotency_key_required`)",
        ),
    ],
) -> str:
    return check_idempotency_key(key)


IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]


async def idempotent_write(  # async: no I/O, so no thread-pool hop per request
    request: Request, principal: PrincipalDep, settings: SettingsDep, key: IdempotencyKeyDep
) -> IdempotentWrite:
    """The POST's write, keyed by the caller's organisation, its Idempotency-Key and the request path.

    Declare it after the route's role dependency: the principal is looked up once per request, and a
    caller without the role is refused (403) before its key is checked."""
    return IdempotentWrite(settings.database_url or "", principal.organisation_id, key, request.url.path)


IdempotentWriteDep = Annotated[IdempotentWrite, Depends(idempotent_write)]


class TemporalGateway:
    """The API's Temporal client, connected on first use and shared by every request."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    client = await asyncio.wait_for(
                        connect(self._settings, interceptors=client_interceptors()), timeout=5
                    )
                except Exception as exc:
                    raise ApiError(
                        503,
                        "temporal_unavailable",
                        f"Temporal at {self._settings.temporal_address} is not reachable "
                        f"({exc.__class__.__name__}); check TEMPORAL_ADDRESS",
                    ) from exc
                await _register_search_attributes(client, self._settings)
                self._client = client
            return self._client


async def _register_search_attributes(client: Client, settings: Settings) -> None:
    """The search attributes every start sets, registered if missing (the worker does it too; an API
    deployed before the worker would otherwise fail its first starts). Best effort: a key without the
    operator permission (Temporal Cloud) leaves it to whoever set up the namespace."""
    try:
        await asyncio.wait_for(ensure_search_attributes(client, settings.temporal_namespace), timeout=5)
    except Exception as exc:  # the starts then say what is missing
        log.warning("could not register Multibill's search attributes on Temporal: %s", exc)


def get_gateway(request: Request) -> TemporalGateway:
    gateway: TemporalGateway = request.app.state.temporal
    return gateway


TemporalGatewayDep = Annotated[TemporalGateway, Depends(get_gateway)]


async def get_temporal(request: Request) -> Client:
    gateway: TemporalGateway = request.app.state.temporal
    return await gateway.client()


TemporalDep = Annotated[Client, Depends(get_temporal)]
