"""partner_settlements: an operator's monthly statement with a partner provider (its accepted charges,
the revenue share and what is payable to the partner)

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_settlements",
        sa.Column("id", sa.String(length=32), nullable=False, comment="pset_…"),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("month", sa.Date(), nullable=False, comment="the first day of the month settled"),
        sa.Column("time_zone", sa.String(length=64), nullable=False, comment="the zone the month was cut in"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("charge_count", sa.Integer(), nullable=False),
        sa.Column("charged_minor", sa.BigInteger(), nullable=False, comment="the accepted charges' amount_minor"),
        sa.Column("revenue_share_percent", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("operator_share_minor", sa.BigInteger(), nullable=False),
        sa.Column("partner_payable_minor", sa.BigInteger(), nullable=False),
        sa.Column(
            "ledger_entry_id", sa.String(length=32), nullable=True, comment="none when nothing was charged"
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_partner_settlements_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_settlements")),
        sa.UniqueConstraint(
            "organisation_id", "provider", "month", name=op.f("uq_partner_settlements_organisation_id")
        ),
    )
    op.create_index(
        op.f("ix_partner_settlements_organisation_id"), "partner_settlements", ["organisation_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_partner_settlements_organisation_id"), table_name="partner_settlements")
    op.drop_table("partner_settlements")
