"""Customer care: business_calendars, ticket_queues, ticket_categories, tickets, ticket_history (append-only),
ticket_attachments and invoice_holds (billing disputes)

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

NOW = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "business_calendars",
        sa.Column("id", sa.String(length=32), nullable=False, comment="bcal_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "working_hours",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment='{"mon": [["09:00", "17:00"]], …} in the calendar\'s time zone',
        ),
        sa.Column("holidays", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        _fk("business_calendars", "organisation_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
    )
    op.create_index(op.f("ix_business_calendars_organisation_id"), "business_calendars", ["organisation_id"])
    op.create_table(
        "ticket_queues",
        sa.Column("id", sa.String(length=32), nullable=False, comment="tq_…"),
        sa.Column(
            "organisation_id", sa.String(length=32), nullable=False, comment="the operator that configures it"
        ),
        sa.Column(
            "owner_organisation_id",
            sa.String(length=32),
            nullable=False,
            comment="whose staff work it: the operator's team, or an outlet/partner",
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "next_queue_id", sa.String(length=32), nullable=True, comment="where an escalation moves its tickets"
        ),
        sa.Column(
            "supervisor",
            sa.String(length=320),
            nullable=True,
            comment="who an escalation tells (the notification engine routes ticket.escalated)",
        ),
        sa.Column("created_at", NOW, nullable=False),
        _fk("ticket_queues", "next_queue_id", "ticket_queues"),
        _fk("ticket_queues", "organisation_id", "organisations"),
        _fk("ticket_queues", "owner_organisation_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_queues")),
    )
    op.create_index(op.f("ix_ticket_queues_organisation_id"), "ticket_queues", ["organisation_id"])
    op.create_table(
        "ticket_categories",
        sa.Column("id", sa.String(length=32), nullable=False, comment="tcat_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("queue_id", sa.String(length=32), nullable=False),
        sa.Column("calendar_id", sa.String(length=32), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False, comment="business minutes"),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False, comment="business minutes"),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column(
            "escalation_policy",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="domain.care.EscalationPolicy: warn_percent and levels",
        ),
        sa.Column("created_at", NOW, nullable=False),
        sa.CheckConstraint(
            "action in ('none','stolen_device','billing_dispute','cancel_request')",
            name=op.f("ck_ticket_categories_action"),
        ),
        sa.CheckConstraint(
            "priority in ('low','normal','high','urgent')", name=op.f("ck_ticket_categories_priority")
        ),
        sa.CheckConstraint(
            "first_response_minutes > 0 and resolution_minutes > 0", name=op.f("ck_ticket_categories_targets")
        ),
        _fk("ticket_categories", "calendar_id", "business_calendars"),
        _fk("ticket_categories", "organisation_id", "organisations"),
        _fk("ticket_categories", "queue_id", "ticket_queues"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_categories")),
        sa.UniqueConstraint("organisation_id", "code", name=op.f("uq_ticket_categories_organisation_id")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(length=32), nullable=False, comment="tkt_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False, comment="the account's organisation"),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("category_id", sa.String(length=32), nullable=False),
        sa.Column("queue_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.String(length=32), nullable=True),
        sa.Column("device_id", sa.String(length=32), nullable=True),
        sa.Column("invoice_id", sa.String(length=32), nullable=True),
        sa.Column("payment_id", sa.String(length=32), nullable=True),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("reopens", sa.Integer(), nullable=False, comment="each reopen re-arms the SLA clocks"),
        sa.Column("process_id", sa.String(length=128), nullable=False, comment="its TicketEscalation"),
        sa.Column("first_responded_at", NOW, nullable=True),
        sa.Column("resolved_at", NOW, nullable=True),
        sa.Column("closed_at", NOW, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.CheckConstraint("priority in ('low','normal','high','urgent')", name=op.f("ck_tickets_priority")),
        sa.CheckConstraint(
            "status in ('new','open','waiting_on_customer','resolved','closed')", name=op.f("ck_tickets_status")
        ),
        _fk("tickets", "account_id", "accounts"),
        _fk("tickets", "category_id", "ticket_categories"),
        _fk("tickets", "device_id", "devices"),
        _fk("tickets", "invoice_id", "invoices"),
        _fk("tickets", "organisation_id", "organisations"),
        _fk("tickets", "payment_id", "payments"),
        _fk("tickets", "queue_id", "ticket_queues"),
        _fk("tickets", "subscription_id", "subscriptions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index(op.f("ix_tickets_account_id"), "tickets", ["account_id"])
    op.create_index("ix_tickets_organisation_id_id", "tickets", ["organisation_id", "id"])
    op.create_index("ix_tickets_queue_id_status", "tickets", ["queue_id", "status"])
    op.create_table(
        "ticket_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("at", NOW, nullable=False),
        sa.Column(
            "kind",
            sa.String(length=32),
            nullable=False,
            comment="created, status, comment, attachment, assignment, escalation, sla, action",
        ),
        sa.Column("actor", sa.String(length=64), nullable=False, comment="an API key id, or 'system'"),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("visibility in ('public','internal')", name=op.f("ck_ticket_history_visibility")),
        _fk("ticket_history", "ticket_id", "tickets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_history")),
    )
    op.create_index("ix_ticket_history_ticket_id_id", "ticket_history", ["ticket_id", "id"])
    # The history is append-only: an edit or a deletion is refused by the database itself.
    op.execute(
        """
        CREATE FUNCTION ticket_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ticket_history is append-only (% refused)', TG_OP;
        END $$;
        CREATE TRIGGER ticket_history_append_only BEFORE UPDATE OR DELETE ON ticket_history
            FOR EACH ROW EXECUTE FUNCTION ticket_history_append_only();
        """
    )
    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.String(length=32), nullable=False, comment="tatt_…"),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        _fk("ticket_attachments", "ticket_id", "tickets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
    )
    op.create_index(op.f("ix_ticket_attachments_ticket_id"), "ticket_attachments", ["ticket_id"])
    op.create_table(
        "invoice_holds",
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("held_at", NOW, nullable=False),
        sa.Column("released_at", NOW, nullable=True),
        _fk("invoice_holds", "invoice_id", "invoices"),
        _fk("invoice_holds", "ticket_id", "tickets"),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_holds")),
    )


def downgrade() -> None:
    op.drop_table("invoice_holds")
    op.drop_index(op.f("ix_ticket_attachments_ticket_id"), table_name="ticket_attachments")
    op.drop_table("ticket_attachments")
    op.execute("DROP TRIGGER ticket_history_append_only ON ticket_history")
    op.execute("DROP FUNCTION ticket_history_append_only()")
    op.drop_index("ix_ticket_history_ticket_id_id", table_name="ticket_history")
    op.drop_table("ticket_history")
    op.drop_index("ix_tickets_queue_id_status", table_name="tickets")
    op.drop_index("ix_tickets_organisation_id_id", table_name="tickets")
    op.drop_index(op.f("ix_tickets_account_id"), table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("ticket_categories")
    op.drop_index(op.f("ix_ticket_queues_organisation_id"), table_name="ticket_queues")
    op.drop_table("ticket_queues")
    op.drop_index(op.f("ix_business_calendars_organisation_id"), table_name="business_calendars")
    op.drop_table("business_calendars")
