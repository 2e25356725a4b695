"""The message log as the API lists it: the caller's subtree, newest first, with filters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.shared.pagination import decode_cursor, encode_cursor, fetch_page
from domain.principal import Principal
from models.notifications import NotificationMessage
from models.organisations import Organisation


@dataclass(frozen=True)
class MessagePage:
    messages: list[NotificationMessage]
    next_cursor: str | None


def list_messages(
    session: Session,
    principal: Principal,
    filters: dict[str, str | None],
    cursor: str | None,
    limit: int,
) -> MessagePage:
    stmt = (
        select(NotificationMessage)
        .join(Organisation, Organisation.id == NotificationMessage.organisation_id)
        .where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
        .order_by(NotificationMessage.id.desc())
    )
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(NotificationMessage, name) == value)
    if cursor:
        stmt = stmt.where(NotificationMessage.id < decode_cursor(cursor, "ntm"))
    rows, more = fetch_page(session, stmt, limit)
    return MessagePage(rows, encode_cursor(rows[-1].id) if more and rows else None)
