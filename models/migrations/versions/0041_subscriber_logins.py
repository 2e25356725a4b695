"""Subscribers' logins and sessions (the portal's cookies, the app's installations).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-01 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscriber_logins",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organisation_id", sa.String(32), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("email_verified_at", _TS),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", _TS),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("organisation_id", "email", name=op.f("uq_subscriber_logins_organisation_id")),
        sa.UniqueConstraint("account_id", name=op.f("uq_subscriber_logins_account_id")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_subscriber_logins_email_lower")),
        sa.CheckConstraint("failed_attempts >= 0", name=op.f("ck_subscriber_logins_failed_attempts")),
    )
    op.create_table(
        "subscriber_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organisation_id", sa.String(32), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("login_id", sa.String(32), sa.ForeignKey("subscriber_logins.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("token_digest", sa.String(64)),
        sa.Column("device_name", sa.String(200)),
        sa.Column("user_agent", sa.String(500)),
        sa.Column("ip_address", sa.String(64)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
        sa.UniqueConstraint("token_digest", name=op.f("uq_subscriber_sessions_token_digest")),
        sa.CheckConstraint("kind in ('portal','app')", name=op.f("ck_subscriber_sessions_kind")),
    )
    op.create_index("ix_subscriber_sessions_login", "subscriber_sessions", ["login_id", "created_at"])


def downgrade() -> None:
    op.drop_table("subscriber_sessions")
    op.drop_table("subscriber_logins")
