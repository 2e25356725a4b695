"""partner_connections (an operator's credentials and contract at a provider), partner_subscriptions (a membership at a content provider behind a partner-service product) and
segments with their current members: the shared tables of the partners, offers and segments work

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 17:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_subscriptions",
        sa.Column("id", sa.String(length=32), nullable=False, comment="psub_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("subscription_id", sa.String(length=32), nullable=False),
        sa.Column(
            "service_id",
            sa.String(length=32),
            nullable=True,
            comment="the subscription service of the partner-service product",
        ),
        sa.Column("provider", sa.String(length=32), nullable=False, comment="the adapter's name: netflix, …"),
        sa.Column("partner_plan", sa.String(length=32), nullable=False, comment="the provider's plan code"),
        sa.Column("partner_customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("promotion_code", sa.String(length=64), nullable=True),
        sa.Column("signup_url", sa.Text(), nullable=True),
        sa.Column("signup_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "allowance_minor",
            sa.BigInteger(),
            nullable=False,
            comment="most the provider may charge per period for this membership",
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "included_in_price",
            sa.Boolean(),
            nullable=False,
            comment="the bundle's price covers the partner's charges (accepted at zero cost)",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status in ('pending_signup','active','ended','failed')",
            name=op.f("ck_partner_subscriptions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_partner_subscriptions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_partner_subscriptions_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_subscriptions")),
    )
    op.create_index(
        op.f("ix_partner_subscriptions_organisation_id"), "partner_subscriptions", ["organisation_id"]
    )
    op.create_index(op.f("ix_partner_subscriptions_account_id"), "partner_subscriptions", ["account_id"])
    op.create_index(
        "ix_partner_subscriptions_subscription_id", "partner_subscriptions", ["subscription_id"]
    )
    op.create_index(
        "uq_partner_subscriptions_live",
        "partner_subscriptions",
        ["organisation_id", "provider", "partner_customer_id"],
        unique=True,
        postgresql_where=sa.text("status in ('pending_signup','active')"),
    )

    op.create_table(
        "partner_connections",
        sa.Column("id", sa.String(length=32), nullable=False, comment="pcon_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.String(length=200), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "revenue_share_percent",
            sa.Numeric(precision=7, scale=4),
            nullable=False,
            comment="the operator's share of what subscribers pay the partner",
        ),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_partner_connections_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_connections")),
        sa.UniqueConstraint("organisation_id", "provider", name=op.f("uq_partner_connections_organisation_id")),
    )
    op.create_index(
        op.f("ix_partner_connections_organisation_id"), "partner_connections", ["organisation_id"]
    )

    op.create_table(
        "partner_charges",
        sa.Column("id", sa.String(length=32), nullable=False, comment="pch_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("charge_number", sa.String(length=64), nullable=False),
        sa.Column("partner_customer_id", sa.String(length=64), nullable=False),
        sa.Column("partner_subscription_id", sa.String(length=32), nullable=True),
        sa.Column("account_id", sa.String(length=32), nullable=True),
        sa.Column("partner_plan", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("local_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("local_currency", sa.String(length=3), nullable=False),
        sa.Column("paid_through", sa.Date(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "decline_status", sa.String(length=16), nullable=True, comment="DECLINED, BAD_REQUEST, REJECTED"
        ),
        sa.Column("reason", sa.Text(), nullable=True, comment="why we declined (machine code: message)"),
        sa.Column(
            "reference", sa.String(length=64), nullable=True, comment="our reference, unique per operator"
        ),
        sa.Column("subscriber_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("billed_as", sa.String(length=16), nullable=True),
        sa.Column("pending_charge_id", sa.String(length=32), nullable=True),
        sa.Column("times_received", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settlement_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "billed_as is null or billed_as in ('invoice','wallet','included')",
            name=op.f("ck_partner_charges_billed_as"),
        ),
        sa.CheckConstraint(
            "status in ('received','accepted','declined')", name=op.f("ck_partner_charges_status")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_partner_charges_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_subscription_id"],
            ["partner_subscriptions.id"],
            name=op.f("fk_partner_charges_partner_subscription_id_partner_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_charges")),
        sa.UniqueConstraint(
            "organisation_id", "provider", "charge_number", name=op.f("uq_partner_charges_organisation_id")
        ),
        sa.UniqueConstraint("organisation_id", "reference", name="uq_partner_charges_organisation_id_reference"),
    )
    op.create_index(
        "ix_partner_charges_status", "partner_charges", ["organisation_id", "provider", "status"]
    )
    op.create_index(
        op.f("ix_partner_charges_partner_subscription_id"), "partner_charges", ["partner_subscription_id"]
    )
    op.create_index(op.f("ix_partner_charges_account_id"), "partner_charges", ["account_id"])
    op.create_index(op.f("ix_partner_charges_settlement_id"), "partner_charges", ["settlement_id"])

    op.create_table(
        "segments",
        sa.Column("id", sa.String(length=32), nullable=False, comment="seg_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "rules",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the validated rule tree (JSON)",
        ),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_segments_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("organisation_id", "code", name=op.f("uq_segments_organisation_id")),
    )
    op.create_index(op.f("ix_segments_organisation_id"), "segments", ["organisation_id"])
    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_segment_members_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_members_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "account_id", name=op.f("pk_segment_members")),
    )
    op.create_index(op.f("ix_segment_members_account_id"), "segment_members", ["account_id"])


def downgrade() -> None:
    op.drop_table("segment_members")
    op.drop_table("segments")
    op.drop_table("partner_charges")
    op.drop_table("partner_connections")
    op.drop_table("partner_subscriptions")
