"""Behind an ingress: believe X-Forwarded-Proto, -Host and -For from trusted proxies only.

The portal's links and Starlette's redirects are built from the request's scheme and Host; behind a
TLS-terminating ingress those are the ingress's ``http`` and, with some controllers, an internal host.
``ForwardedHeaders`` rewrites them from the forwarded headers when the connecting peer is one of
``MULTIBILL_FORWARDED_ALLOW_IPS`` (IPs, CIDRs or ``*``): uvicorn's ProxyHeadersMiddleware does the
scheme and client address, this adds X-Forwarded-Host, which uvicorn ignores. It runs in the
application (not as uvicorn's ``--proxy-headers``) so every way of serving it behaves the same.
"""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

_HOST = b"host"
_FORWARDED_HOST = b"x-forwarded-host"


def _networks(trusted: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """None for ``*`` (every peer); otherwise the networks (a bare IP is a /32 or /128)."""
    items = [item.strip() for item in trusted.split(",") if item.strip()]
    if "*" in items:
        return None
    try:
        return [ipaddress.ip_network(item, strict=False) for item in items]
    except ValueError as exc:
        raise RuntimeError(
            f"MULTIBILL_FORWARDED_ALLOW_IPS={trusted!r}: {exc}; give IPs or CIDRs separated by commas, or *"
        ) from exc


class ForwardedHeaders:
    def __init__(self, app: ASGIApp, trusted: str = "127.0.0.1") -> None:
        self.networks = _networks(trusted)
        # uvicorn types its middleware with its own ASGI aliases; at run time both are plain ASGI.
        self.app = cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, app), trusted_hosts=trusted))

    def trusts(self, peer: str | None) -> bool:
        if self.networks is None:
            return True
        if not peer:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False  # a unix socket path or a test client's name: not a proxy we know
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if self.trusts(client[0] if client else None):
                forwarded = [value for name, value in scope["headers"] if name == _FORWARDED_HOST]
                if forwarded:
                    # The nearest proxy appends last: with several hops its value is the one it saw.
                    host = forwarded[-1].split(b",")[-1].strip()
                    if host:
                        headers = [(name, value) for name, value in scope["headers"] if name != _HOST]
                        scope = {**scope, "headers": [*headers, (_HOST, host)]}
        await self.app(scope, receive, send)
