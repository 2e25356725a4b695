"""usage: events, rated usage, rate decks, subscriber aliases, RADIUS sessions

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('usage_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.String(length=32), nullable=False),
    sa.Column('client_event_id', sa.String(length=128), nullable=False),
    sa.Column('subscriber', sa.String(length=128), nullable=False, comment='as sent: sub_/svc_ id or an alias'),
    sa.Column('subscription_id', sa.String(length=32), nullable=True),
    sa.Column('service_id', sa.String(length=32), nullable=True),
    sa.Column('event_type', sa.String(length=8), nullable=False),
    sa.Column('metric', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False, comment='seconds, bytes or units'),
    sa.Column('duration', sa.BigInteger(), nullable=True, comment='session seconds of a data event'),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('destination', sa.String(length=32), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("event_type in ('voice', 'data', 'video')", name=op.f('ck_usage_events_event_type')),
    sa.CheckConstraint("status in ('accepted', 'rated', 'suspense', 'rejected')", name=op.f('ck_usage_events_status')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_usage_events_quantity')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_usage_events_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_events'))
    )
    op.create_index('ix_usage_events_accepted', 'usage_events', ['organisation_id', 'id'], unique=False, postgresql_where=sa.text("status = 'accepted'"))
    op.create_index('ix_usage_events_subscription', 'usage_events', ['subscription_id', 'started_at'], unique=False)
    op.create_index('ix_usage_events_suspense', 'usage_events', ['organisation_id', 'id'], unique=False, postgresql_where=sa.text("status = 'suspense'"))
    op.create_index('uq_usage_events_client_id', 'usage_events', ['organisation_id', 'client_event_id'], unique=True)
    op.create_table('usage_radius_sessions',
    sa.Column('organisation_id', sa.String(length=32), nullable=False),
    sa.Column('user_name', sa.String(length=128), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('octets', sa.BigInteger(), nullable=False),
    sa.Column('session_time', sa.BigInteger(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('stopped', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_usage_radius_sessions_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('organisation_id', 'user_name', 'session_id', name=op.f('pk_usage_radius_sessions'))
    )
    op.create_table('usage_rate_decks',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('organisation_id', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('destinations', sa.Integer(), nullable=False),
    sa.Column('spec', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_usage_rate_decks_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_rate_decks'))
    )
    op.create_index('uq_usage_rate_decks_version', 'usage_rate_decks', ['organisation_id', 'code', 'currency', 'version'], unique=True)
    op.create_table('rated_usage',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('organisation_id', sa.String(length=32), nullable=False),
    sa.Column('subscription_id', sa.String(length=32), nullable=False),
    sa.Column('service_id', sa.String(length=32), nullable=False),
    sa.Column('metric', sa.String(length=64), nullable=False),
    sa.Column('destination', sa.String(length=32), nullable=True, comment='the matched prefix'),
    sa.Column('destination_name', sa.String(length=100), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('covered', sa.BigInteger(), nullable=False, comment='base units the allowance paid'),
    sa.Column('charged', sa.BigInteger(), nullable=False, comment='base units beyond the allowance'),
    sa.Column('pool', sa.String(length=140), nullable=False, comment='allowance pool: service or subscription + metric'),
    sa.Column('amount', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('precision', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tariff', sa.String(length=200), nullable=False, comment='deck code@version/tariff or plan code@version'),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('rating_run', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False, comment='invoiced by the billing cycle'),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind in ('rated','adjustment')", name=op.f('ck_rated_usage_kind')),
    sa.CheckConstraint("status in ('open','invoiced')", name=op.f('ck_rated_usage_status')),
    sa.ForeignKeyConstraint(['event_id'], ['usage_events.id'], name=op.f('fk_rated_usage_event_id_usage_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rated_usage'))
    )
    op.create_index('ix_rated_usage_period', 'rated_usage', ['subscription_id', 'period_start', 'status'], unique=False)
    op.create_index('uq_rated_usage_event_rated', 'rated_usage', ['event_id'], unique=True, postgresql_where=sa.text("kind = 'rated'"))
    op.create_index('uq_rated_usage_event_run', 'rated_usage', ['event_id', 'rating_run'], unique=True)
    op.create_table('usage_subscriber_aliases',
    sa.Column('organisation_id', sa.String(length=32), nullable=False),
    sa.Column('alias', sa.String(length=128), nullable=False),
    sa.Column('subscription_id', sa.String(length=32), nullable=False),
    sa.Column('service_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_usage_subscriber_aliases_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_usage_subscriber_aliases_subscription_id_subscriptions')),
    sa.PrimaryKeyConstraint('organisation_id', 'alias', name=op.f('pk_usage_subscriber_aliases'))
    )


def downgrade() -> None:
    op.drop_table("usage_subscriber_aliases")
    op.drop_table("rated_usage")
    op.drop_table("usage_rate_decks")
    op.drop_table("usage_radius_sessions")
    op.drop_table("usage_events")
