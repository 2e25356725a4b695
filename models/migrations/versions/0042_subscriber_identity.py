"""Subscriber identity: login throttles, one-time links, sign-ups, OAuth clients, codes and tokens.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _org() -> sa.Column[str]:
    return sa.Column("organisation_id", sa.String(32), sa.ForeignKey("organisations.id"), nullable=False)


def _login() -> sa.Column[str]:
    return sa.Column("login_id", sa.String(32), sa.ForeignKey("subscriber_logins.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "subscriber_login_throttles",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", _TS, nullable=False),
        sa.Column("locked_until", _TS),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(
            "failures >= 0 AND lockouts >= 0", name=op.f("ck_subscriber_login_throttles_counts")
        ),
    )
    op.create_table(
        "subscriber_login_links",
        sa.Column("id", sa.String(32), primary_key=True),
        _org(),
        _login(),
        sa.Column("purpose", sa.String(8), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS),
        sa.CheckConstraint("purpose in ('login','reset')", name=op.f("ck_subscriber_login_links_purpose")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_subscriber_login_links_token_digest")),
    )
    op.create_index(op.f("ix_subscriber_login_links_login_id"), "subscriber_login_links", ["login_id"])
    op.create_table(
        "subscriber_signups",
        sa.Column(
            "login_id", sa.String(32), sa.ForeignKey("subscriber_logins.id"), primary_key=True, nullable=False
        ),
        sa.Column("plan_code", sa.String(64)),
        sa.Column("ip_address", sa.String(64)),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.String(64), primary_key=True),
        _org(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("redirect_uris", JSONB(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
    )
    op.create_index(op.f("ix_oauth_clients_organisation_id"), "oauth_clients", ["organisation_id"])
    op.create_table(
        "oauth_codes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("oauth_clients.id"), nullable=False),
        _login(),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.String(500), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("code_challenge_method", sa.String(8), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS),
        sa.UniqueConstraint("code_digest", name=op.f("uq_oauth_codes_code_digest")),
    )
    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("installation_id", sa.String(32), sa.ForeignKey("subscriber_sessions.id"), nullable=False),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("oauth_clients.id"), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("access_digest", sa.String(64), nullable=False),
        sa.Column("refresh_digest", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("access_expires_at", _TS, nullable=False),
        sa.Column("refresh_expires_at", _TS, nullable=False),
        sa.Column("rotated_at", _TS),
        sa.Column("revoked_at", _TS),
        sa.UniqueConstraint("access_digest", name=op.f("uq_oauth_tokens_access_digest")),
        sa.UniqueConstraint("refresh_digest", name=op.f("uq_oauth_tokens_refresh_digest")),
    )
    op.create_index("ix_oauth_tokens_installation", "oauth_tokens", ["installation_id"])


def downgrade() -> None:
    for table in (
        "oauth_tokens",
        "oauth_codes",
        "oauth_clients",
        "subscriber_signups",
        "subscriber_login_links",
        "subscriber_login_throttles",
    ):
        op.drop_table(table)
