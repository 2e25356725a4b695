"""offers (targeted offers: discounts for N periods, add-ons, upgrades, wallet credit, vouchers), their
redemptions (the cap kept in the offer row under a check constraint) and grants (an offer given to one account)

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-30 17:43:39
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column("id", sa.String(length=32), nullable=False, comment="off_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("plan_code", sa.String(length=64), nullable=True, comment="the plan or add-on discounted"),
        sa.Column("percent", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True, comment="off each period"),
        sa.Column("periods", sa.Integer(), nullable=True, comment="billing periods discounted"),
        sa.Column("value_minor", sa.BigInteger(), nullable=True, comment="wallet credit or voucher value"),
        sa.Column(
            "segment_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="member of any: eligible",
        ),
        sa.Column(
            "channels", postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment="empty: any channel"
        ),
        sa.Column("grant_only", sa.Boolean(), nullable=False, comment="only accounts granted the offer"),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True, comment="last day it can be accepted"),
        sa.Column("total_cap", sa.Integer(), nullable=True),
        sa.Column("per_account_cap", sa.Integer(), nullable=True),
        sa.Column("redeemed_count", sa.Integer(), nullable=False),
        sa.Column("stacking", sa.String(length=16), nullable=False),
        sa.Column("stack_group", sa.String(length=64), nullable=True),
        sa.Column("estimated_cost_minor", sa.BigInteger(), nullable=False, comment="per redemption"),
        sa.Column("cost_to_date_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind in ('discount', 'addon', 'upgrade', 'wallet_credit', 'voucher')",
            name=op.f("ck_offers_kind"),
        ),
        sa.CheckConstraint("stacking in ('exclusive','stackable')", name=op.f("ck_offers_stacking")),
        sa.CheckConstraint("status in ('active', 'paused', 'ended')", name=op.f("ck_offers_status")),
        sa.CheckConstraint("redeemed_count >= 0", name=op.f("ck_offers_count_positive")),
        sa.CheckConstraint(
            "total_cap is null or redeemed_count <= total_cap", name=op.f("ck_offers_within_cap")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_offers_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        sa.UniqueConstraint("organisation_id", "code", name="uq_offers_organisation_code"),
    )
    op.create_index(op.f("ix_offers_organisation_id"), "offers", ["organisation_id"], unique=False)
    op.create_table(
        "offer_grants",
        sa.Column("id", sa.String(length=32), nullable=False, comment="ogr_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("offer_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_offer_grants_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name=op.f("fk_offer_grants_offer_id_offers")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_offer_grants_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_grants")),
        sa.UniqueConstraint("organisation_id", "idempotency_key", name="uq_offer_grants_key"),
    )
    op.create_index("ix_offer_grants_offer_account", "offer_grants", ["offer_id", "account_id"], unique=False)
    op.create_table(
        "offer_redemptions",
        sa.Column("id", sa.String(length=32), nullable=False, comment="ord_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("offer_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column(
            "subscription_id", sa.String(length=32), nullable=True, comment="the discounted subscription"
        ),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=False, comment="the account's local day"),
        sa.Column(
            "terms",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the offer's terms when accepted",
        ),
        sa.Column("cost_minor", sa.BigInteger(), nullable=False, comment="estimated, or the value given"),
        sa.Column("process_id", sa.String(length=200), nullable=True, comment="the PlanChange it started"),
        sa.Column("wallet_transaction_id", sa.String(length=32), nullable=True),
        sa.Column("voucher_id", sa.String(length=32), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status in ('active', 'completed')", name=op.f("ck_offer_redemptions_status")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_offer_redemptions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_offer_redemptions_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_offer_redemptions_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_redemptions")),
        sa.UniqueConstraint("organisation_id", "idempotency_key", name="uq_offer_redemptions_key"),
    )
    op.create_index(
        "ix_offer_redemptions_account", "offer_redemptions", ["account_id", "status"], unique=False
    )
    op.create_index(
        "ix_offer_redemptions_offer_account", "offer_redemptions", ["offer_id", "account_id"], unique=False
    )
    op.create_index(
        "ix_offer_redemptions_subscription", "offer_redemptions", ["subscription_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_offer_redemptions_subscription", table_name="offer_redemptions")
    op.drop_index("ix_offer_redemptions_offer_account", table_name="offer_redemptions")
    op.drop_index("ix_offer_redemptions_account", table_name="offer_redemptions")
    op.drop_table("offer_redemptions")
    op.drop_index("ix_offer_grants_offer_account", table_name="offer_grants")
    op.drop_table("offer_grants")
    op.drop_index(op.f("ix_offers_organisation_id"), table_name="offers")
    op.drop_table("offers")
