"""Whose portal is this: the operator a signed-out page (sign up, log in, the landing page) belongs to.

The branding ``hosts`` match of the request's Host (without port), else the setting
``MULTIBILL_PORTAL_OPERATOR``, else the only operator organisation in the database. When none answers,
``OperatorUnknown`` is raised: a 404 ``operator_unknown``, as a page on /portal/… and as problem+json on
the API (it is an ``ApiError``).
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from activities.branding.operators import resolve_operator
from api.errors import ApiError


class OperatorUnknown(ApiError):
    """No operator's portal answers at this address: 404 ``operator_unknown`` (a page under /portal/)."""

    def __init__(self, host: str) -> None:
        super().__init__(404, "operator_unknown", f"No operator's portal answers at {host or 'this address'}")


def portal_operator(request: Request, session: Session) -> str:
    """The organisation id of the operator whose portal the request is for."""
    settings = request.app.state.settings
    found = resolve_operator(session, request.headers.get("host"), settings.portal_operator)
    if found is None:
        raise OperatorUnknown(request.headers.get("host", ""))
    return found
