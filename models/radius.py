"""The FreeRADIUS 3 SQL schema (PostgreSQL dialect of ``mods-config/sql/main/postgresql/schema.sql``).

FreeRADIUS reads these tables directly (rlm_sql): ``radcheck``/``radreply`` per user, ``radusergroup``
membership by priority, ``radgroupcheck``/``radgroupreply`` per group; it writes ``radacct`` and
``radpostauth``; ``nas`` lists clients when ``read_clients = yes``. Column names are FreeRADIUS's own
(lower case, as PostgreSQL folds the schema's unquoted names). Multibill writes them through the
RADIUS adapter (``integrations/provisioning/radius``), which holds its own lightweight description
of these tables because integrations never import ``models``; this module exists for migrations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class _AttributeRow:
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attribute: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="==")
    value: Mapped[str] = mapped_column(Text, server_default="")


class RadCheck(_AttributeRow, Base):
    """Check items per user, e.g. ``Cleartext-Password := …`` (FreeRADIUS needs it to verify PAP/CHAP)."""

    __tablename__ = "radcheck"
    __table_args__ = (Index("radcheck_username", "username", "attribute"),)
    username: Mapped[str] = mapped_column(Text, server_default="")


class RadReply(_AttributeRow, Base):
    __tablename__ = "radreply"
    __table_args__ = (Index("radreply_username", "username", "attribute"),)
    username: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="=")


class RadGroupCheck(_AttributeRow, Base):
    __tablename__ = "radgroupcheck"
    __table_args__ = (Index("radgroupcheck_groupname", "groupname", "attribute"),)
    groupname: Mapped[str] = mapped_column(Text, server_default="")


class RadGroupReply(_AttributeRow, Base):
    __tablename__ = "radgroupreply"
    __table_args__ = (Index("radgroupreply_groupname", "groupname", "attribute"),)
    groupname: Mapped[str] = mapped_column(Text, server_default="")
    op: Mapped[str] = mapped_column(String(2), server_default="=")


class RadUserGroup(Base):
    """Group membership; FreeRADIUS processes a user's groups in ascending ``priority``."""

    __tablename__ = "radusergroup"
    __table_args__ = (Index("radusergroup_username", "username"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(Text, server_default="")
    groupname: Mapped[str] = mapped_column(Text, server_default="")
    priority: Mapped[int] = mapped_column(Integer, server_default="0")


class RadPostAuth(Base):
    __tablename__ = "radpostauth"
    __table_args__ = (Index("radpostauth_username_idx", "username"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(Text)
    # FreeRADIUS logs the offered password here unless the post-auth query is changed; Multibill's
    # deployment notes drop %{User-Password} from that query.
    pass_: Mapped[str | None] = mapped_column("pass", Text)
    reply: Mapped[str | None] = mapped_column(Text)
    calledstationid: Mapped[str | None] = mapped_column(Text)
    callingstationid: Mapped[str | None] = mapped_column(Text)
    authdate: Mapped[datetime] = mapped_column(server_default=text("now()"))
    class_: Mapped[str | None] = mapped_column("class", Text)


class RadAcct(Base):
    __tablename__ = "radacct"
    __table_args__ = (Index("radacct_start_user_idx", "acctstarttime", "username"),)
    radacctid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    acctsessionid: Mapped[str] = mapped_column(Text)
    acctuniqueid: Mapped[str] = mapped_column(Text, unique=True)
    username: Mapped[str | None] = mapped_column(Text)
    realm: Mapped[str | None] = mapped_column(Text)
    nasipaddress: Mapped[str] = mapped_column(INET)
    nasportid: Mapped[str | None] = mapped_column(Text)
    nasporttype: Mapped[str | None] = mapped_column(Text)
    acctstarttime: Mapped[datetime | None]
    acctupdatetime: Mapped[datetime | None]
    acctstoptime: Mapped[datetime | None]
    acctinterval: Mapped[int | None] = mapped_column(BigInteger)
    acctsessiontime: Mapped[int | None] = mapped_column(BigInteger)
    acctauthentic: Mapped[str | None] = mapped_column(Text)
    connectinfo_start: Mapped[str | None] = mapped_column(Text)
    connectinfo_stop: Mapped[str | None] = mapped_column(Text)
    acctinputoctets: Mapped[int | None] = mapped_column(BigInteger)
    acctoutputoctets: Mapped[int | None] = mapped_column(BigInteger)
    calledstationid: Mapped[str | None] = mapped_column(Text)
    callingstationid: Mapped[str | None] = mapped_column(Text)
    acctterminatecause: Mapped[str | None] = mapped_column(Text)
    servicetype: Mapped[str | None] = mapped_column(Text)
    framedprotocol: Mapped[str | None] = mapped_column(Text)
    framedipaddress: Mapped[str | None] = mapped_column(INET)
    framedipv6address: Mapped[str | None] = mapped_column(INET)
    framedipv6prefix: Mapped[str | None] = mapped_column(INET)
    framedinterfaceid: Mapped[str | None] = mapped_column(Text)
    delegatedipv6prefix: Mapped[str | None] = mapped_column(INET)
    class_: Mapped[str | None] = mapped_column("class", Text)


class Nas(Base):
    __tablename__ = "nas"
    __table_args__ = (Index("nas_nasname", "nasname"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    nasname: Mapped[str] = mapped_column(Text)
    shortname: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text, server_default="other")
    ports: Mapped[int | None] = mapped_column(Integer)
    secret: Mapped[str] = mapped_column(Text)
    server: Mapped[str | None] = mapped_column(Text)
    community: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
