"""Which operator a signed-out visitor (sign up, log in) belongs to.

TEMPORARY in the identity branch: the portal-shell helper owns this module (branding hosts first); the
lead keeps theirs at merge. Behaviour kept identical: the setting ``MULTIBILL_PORTAL_OPERATOR`` (an
organisation id), else the only operator in the database, else 404 ``operator_unknown``.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import ApiError
from models.organisations import Organisation


def portal_operator(request: Request, session: Session) -> str:
    """The organisation id of the operator whose portal this request is on."""
    configured = getattr(request.app.state.settings, "portal_operator", None)
    if configured:
        return str(configured)
    operators = session.scalars(select(Organisation.id).where(Organisation.kind == "operator").limit(2)).all()
    if len(operators) == 1:
        return operators[0]
    raise ApiError(404, "operator_unknown", "This portal does not know which operator it serves")
