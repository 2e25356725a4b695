"""provisioning peers: FreeRADIUS SQL tables and Kamailio subscriber tables

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grp',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), server_default='', nullable=False),
    sa.Column('domain', sa.String(length=64), server_default='', nullable=False),
    sa.Column('grp', sa.String(length=64), server_default='', nullable=False),
    sa.Column('last_modified', sa.DateTime(timezone=True), server_default=sa.text("'2000-01-01 00:00:01'"), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grp')),
    sa.UniqueConstraint('username', 'domain', 'grp', name='account_group_idx')
    )
    op.create_table('nas',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('nasname', sa.Text(), nullable=False),
    sa.Column('shortname', sa.Text(), nullable=False),
    sa.Column('type', sa.Text(), server_default='other', nullable=False),
    sa.Column('ports', sa.Integer(), nullable=True),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('server', sa.Text(), nullable=True),
    sa.Column('community', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nas'))
    )
    op.create_index('nas_nasname', 'nas', ['nasname'], unique=False)
    op.create_table('radacct',
    sa.Column('radacctid', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('acctsessionid', sa.Text(), nullable=False),
    sa.Column('acctuniqueid', sa.Text(), nullable=False),
    sa.Column('username', sa.Text(), nullable=True),
    sa.Column('realm', sa.Text(), nullable=True),
    sa.Column('nasipaddress', postgresql.INET(), nullable=False),
    sa.Column('nasportid', sa.Text(), nullable=True),
    sa.Column('nasporttype', sa.Text(), nullable=True),
    sa.Column('acctstarttime', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acctupdatetime', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acctstoptime', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acctinterval', sa.BigInteger(), nullable=True),
    sa.Column('acctsessiontime', sa.BigInteger(), nullable=True),
    sa.Column('acctauthentic', sa.Text(), nullable=True),
    sa.Column('connectinfo_start', sa.Text(), nullable=True),
    sa.Column('connectinfo_stop', sa.Text(), nullable=True),
    sa.Column('acctinputoctets', sa.BigInteger(), nullable=True),
    sa.Column('acctoutputoctets', sa.BigInteger(), nullable=True),
    sa.Column('calledstationid', sa.Text(), nullable=True),
    sa.Column('callingstationid', sa.Text(), nullable=True),
    sa.Column('acctterminatecause', sa.Text(), nullable=True),
    sa.Column('servicetype', sa.Text(), nullable=True),
    sa.Column('framedprotocol', sa.Text(), nullable=True),
    sa.Column('framedipaddress', postgresql.INET(), nullable=True),
    sa.Column('framedipv6address', postgresql.INET(), nullable=True),
    sa.Column('framedipv6prefix', postgresql.INET(), nullable=True),
    sa.Column('framedinterfaceid', sa.Text(), nullable=True),
    sa.Column('delegatedipv6prefix', postgresql.INET(), nullable=True),
    sa.Column('class', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('radacctid', name=op.f('pk_radacct')),
    sa.UniqueConstraint('acctuniqueid', name=op.f('uq_radacct_acctuniqueid'))
    )
    op.create_index('radacct_start_user_idx', 'radacct', ['acctstarttime', 'username'], unique=False)
    op.create_table('radcheck',
    sa.Column('username', sa.Text(), server_default='', nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('attribute', sa.Text(), server_default='', nullable=False),
    sa.Column('op', sa.String(length=2), server_default='==', nullable=False),
    sa.Column('value', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_radcheck'))
    )
    op.create_index('radcheck_username', 'radcheck', ['username', 'attribute'], unique=False)
    op.create_table('radgroupcheck',
    sa.Column('groupname', sa.Text(), server_default='', nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('attribute', sa.Text(), server_default='', nullable=False),
    sa.Column('op', sa.String(length=2), server_default='==', nullable=False),
    sa.Column('value', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_radgroupcheck'))
    )
    op.create_index('radgroupcheck_groupname', 'radgroupcheck', ['groupname', 'attribute'], unique=False)
    op.create_table('radgroupreply',
    sa.Column('groupname', sa.Text(), server_default='', nullable=False),
    sa.Column('op', sa.String(length=2), server_default='=', nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('attribute', sa.Text(), server_default='', nullable=False),
    sa.Column('value', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_radgroupreply'))
    )
    op.create_index('radgroupreply_groupname', 'radgroupreply', ['groupname', 'attribute'], unique=False)
    op.create_table('radpostauth',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('username', sa.Text(), nullable=False),
    sa.Column('pass', sa.Text(), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('calledstationid', sa.Text(), nullable=True),
    sa.Column('callingstationid', sa.Text(), nullable=True),
    sa.Column('authdate', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('class', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_radpostauth'))
    )
    op.create_index('radpostauth_username_idx', 'radpostauth', ['username'], unique=False)
    op.create_table('radreply',
    sa.Column('username', sa.Text(), server_default='', nullable=False),
    sa.Column('op', sa.String(length=2), server_default='=', nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('attribute', sa.Text(), server_default='', nullable=False),
    sa.Column('value', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_radreply'))
    )
    op.create_index('radreply_username', 'radreply', ['username', 'attribute'], unique=False)
    op.create_table('radusergroup',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.Text(), server_default='', nullable=False),
    sa.Column('groupname', sa.Text(), server_default='', nullable=False),
    sa.Column('priority', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_radusergroup'))
    )
    op.create_index('radusergroup_username', 'radusergroup', ['username'], unique=False)
    op.create_table('subscriber',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), server_default='', nullable=False),
    sa.Column('domain', sa.String(length=64), server_default='', nullable=False),
    sa.Column('password', sa.String(length=64), server_default='', nullable=False),
    sa.Column('ha1', sa.String(length=128), server_default='', nullable=False),
    sa.Column('ha1b', sa.String(length=128), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriber')),
    sa.UniqueConstraint('username', 'domain', name='subscriber_account_idx')
    )
    op.create_index('subscriber_username_idx', 'subscriber', ['username'], unique=False)
    op.create_table('usr_preferences',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=64), server_default='', nullable=False),
    sa.Column('username', sa.String(length=255), server_default='0', nullable=False),
    sa.Column('domain', sa.String(length=64), server_default='', nullable=False),
    sa.Column('attribute', sa.String(length=32), server_default='', nullable=False),
    sa.Column('type', sa.Integer(), server_default='0', nullable=False),
    sa.Column('value', sa.String(length=128), server_default='', nullable=False),
    sa.Column('last_modified', sa.DateTime(timezone=True), server_default=sa.text("'2000-01-01 00:00:01'"), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usr_preferences'))
    )
    op.create_index('usr_preferences_ua_idx', 'usr_preferences', ['uuid', 'attribute'], unique=False)
    op.create_index('usr_preferences_uda_idx', 'usr_preferences', ['username', 'domain', 'attribute'], unique=False)


def downgrade() -> None:
    op.drop_index('usr_preferences_uda_idx', table_name='usr_preferences')
    op.drop_index('usr_preferences_ua_idx', table_name='usr_preferences')
    op.drop_table('usr_preferences')
    op.drop_index('subscriber_username_idx', table_name='subscriber')
    op.drop_table('subscriber')
    op.drop_index('radusergroup_username', table_name='radusergroup')
    op.drop_table('radusergroup')
    op.drop_index('radreply_username', table_name='radreply')
    op.drop_table('radreply')
    op.drop_index('radpostauth_username_idx', table_name='radpostauth')
    op.drop_table('radpostauth')
    op.drop_index('radgroupreply_groupname', table_name='radgroupreply')
    op.drop_table('radgroupreply')
    op.drop_index('radgroupcheck_groupname', table_name='radgroupcheck')
    op.drop_table('radgroupcheck')
    op.drop_index('radcheck_username', table_name='radcheck')
    op.drop_table('radcheck')
    op.drop_index('radacct_start_user_idx', table_name='radacct')
    op.drop_table('radacct')
    op.drop_index('nas_nasname', table_name='nas')
    op.drop_table('nas')
    op.drop_table('grp')
