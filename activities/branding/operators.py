"""Whose portal is this: the operator behind a request's Host, a configured one, or the only one."""

from __future__ import annotations

from sqlalchemy.orm import Session

from activities.branding.records import is_operator, only_operator, operator_for_host
from domain.branding import HOST_NAME


def bare_host(host_header: str | None) -> str | None:
    """``Portal.Example.com:8443`` → ``portal.example.com``; None when it is no host name."""
    if not host_header:
        return None
    host = host_header.strip().lower()
    if host.startswith("["):  # an IPv6 literal never names a portal
        return None
    host = host.rsplit(":", 1)[0] if ":" in host else host
    host = host.rstrip(".")
    return host if HOST_NAME.match(host) else None


def resolve_operator(session: Session, host_header: str | None, configured: str | None) -> str | None:
    """The branding ``hosts`` match of the Host (without port), else the configured operator (when it is
    one), else the only operator organisation in the database; None when none of these answers."""
    host = bare_host(host_header)
    if host:
        found = operator_for_host(session, host)
        if found:
            return found
    if configured and is_operator(session, configured):
        return configured
    return only_operator(session)
