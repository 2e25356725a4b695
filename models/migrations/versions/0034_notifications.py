"""notification_triggers, notification_templates, notification_preferences and notification_messages:
notifications on business-event triggers (issue #16)

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_triggers",
        sa.Column("id", sa.String(length=32), nullable=False, comment="ntr_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column(
            "event_pattern",
            sa.String(length=64),
            nullable=False,
            comment="an event type, a family (ticket.*) or *",
        ),
        sa.Column(
            "channels",
            postgresql.ARRAY(sa.String(length=16)),
            nullable=False,
            comment="email, sms, push; empty: off",
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("marketing", sa.Boolean(), nullable=False, comment="subscribers may opt out of it"),
        sa.Column(
            "ignore_quiet_hours", sa.Boolean(), nullable=False, comment="legally required notices"
        ),
        sa.Column("quiet_start", sa.Time(), nullable=True, comment="local time in the subscriber's time zone"),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notification_triggers_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_triggers")),
        sa.UniqueConstraint(
            "organisation_id", "event_pattern", name=op.f("uq_notification_triggers_organisation_id")
        ),
    )
    op.create_index(
        op.f("ix_notification_triggers_organisation_id"), "notification_triggers", ["organisation_id"]
    )
    op.create_table(
        "notification_templates",
        sa.Column("id", sa.String(length=32), nullable=False, comment="ntt_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notification_templates_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_templates")),
        sa.UniqueConstraint(
            "organisation_id",
            "event_type",
            "channel",
            "language",
            name=op.f("uq_notification_templates_organisation_id"),
        ),
    )
    op.create_index(
        op.f("ix_notification_templates_organisation_id"), "notification_templates", ["organisation_id"]
    )
    op.create_table(
        "notification_preferences",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column(
            "channels",
            postgresql.ARRAY(sa.String(length=16)),
            nullable=True,
            comment="channels the subscriber accepts; null: every channel",
        ),
        sa.Column("marketing_opt_out", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_preferences_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "notification_messages",
        sa.Column("id", sa.String(length=32), nullable=False, comment="ntm_…"),
        sa.Column(
            "key",
            sa.String(length=64),
            nullable=False,
            comment="one message per (event, trigger, channel, recipient)",
        ),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=True),
        sa.Column(
            "event_id", sa.String(length=32), nullable=True, comment="the business event (none: direct)"
        ),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("trigger_id", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column(
            "template_id", sa.String(length=32), nullable=True, comment="none: the built-in default"
        ),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="what to attach: [{kind: invoice_pdf, invoice_id}]",
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("suppressed_reason", sa.String(length=64), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=True, comment="SMS segments the text takes"),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("deferred_until", TZ, nullable=True, comment="held back by quiet hours until"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint(
            "status in ('queued','sending','sent','sent_unknown','delivered','failed','suppressed')",
            name=op.f("ck_notification_messages_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notification_messages_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_messages")),
        sa.UniqueConstraint("key", name=op.f("uq_notification_messages_key")),
    )
    op.create_index(
        "ix_notification_messages_status_next_attempt_at",
        "notification_messages",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        "ix_notification_messages_organisation_id_id", "notification_messages", ["organisation_id", "id"]
    )
    op.create_index(op.f("ix_notification_messages_account_id"), "notification_messages", ["account_id"])
    op.create_index(
        op.f("ix_notification_messages_provider_message_id"),
        "notification_messages",
        ["provider_message_id"],
    )


def downgrade() -> None:
    op.drop_table("notification_messages")
    op.drop_table("notification_preferences")
    op.drop_table("notification_templates")
    op.drop_table("notification_triggers")
