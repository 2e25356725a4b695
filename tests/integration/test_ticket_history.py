"""A ticket's history is append-only: the database refuses to edit or delete a line."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from models.base import engine_for
from tests.support.care_support import history_of, make_care, raise_ticket


@pytest.mark.parametrize(
    "statement",
    [
        "update ticket_history set body = 'rewritten' where ticket_id = :t",
        "delete from ticket_history where ticket_id = :t",
    ],
)
def test_history_lines_cannot_be_edited_or_deleted(database_url: str, statement: str) -> None:
    ticket = raise_ticket(database_url, make_care(database_url))
    with pytest.raises(DBAPIError, match="append-only"), engine_for(database_url).begin() as conn:
        conn.execute(sa.text(statement), {"t": ticket.id})
    assert [line.kind for line in history_of(database_url, ticket.id)] == ["created"]
