"""Business events: the organisation key checked once per statement (``mb_guard_keys``, migration 0047).

Every bill run and award period writes one ``business_events`` row per invoice or award; its foreign key
to ``organisations`` was a per-row check (1.7 s of a 100,000-account award period's statement, the
same organisation row locked 174,071 times). It becomes the set-based guard of migration 0047: after
each INSERT or UPDATE statement one anti-join over the statement's new rows (SQLSTATE 23503 if an event
names no organisation); deleting an organisation that events name fails the same way, and an
organisation's id never changes.

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-01 04:55:00
"""

from __future__ import annotations

from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

CONSTRAINT = "fk_business_events_organisation_id_organisations"


def upgrade() -> None:
    op.drop_constraint(CONSTRAINT, "business_events", type_="foreignkey")
    for event in ("insert", "update"):
        op.execute(
            f"CREATE TRIGGER business_events_keys_{event} AFTER {event.upper()} ON business_events"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION mb_guard_keys(organisation_id, organisations)"
        )
    op.execute(
        "CREATE TRIGGER organisations_events_referenced AFTER DELETE ON organisations"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION mb_guard_referenced(business_events, organisation_id)"
    )
    op.execute(
        "CREATE TRIGGER organisations_id_immutable BEFORE UPDATE OF id ON organisations"
        " FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION mb_ids_immutable()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER organisations_id_immutable ON organisations")
    op.execute("DROP TRIGGER organisations_events_referenced ON organisations")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER business_events_keys_{event} ON business_events")
    op.create_foreign_key(CONSTRAINT, "business_events", "organisations", ["organisation_id"], ["id"])
