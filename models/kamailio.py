"""Kamailio-compatible SIP account tables (auth_db ``subscriber``, group ``grp``, avpops ``usr_preferences``).

Kamailio (``auth_db`` with ``calculate_ha1 = 0``) verifies digests against ``ha1`` =
md5(username:domain:password) and ``ha1b`` = md5(username@domain:domain:password); the password column
stays empty. The routing script loads ``caller_id`` and ``max_calls`` from ``usr_preferences``
(``avp_db_load("$fu", "$avp(caller_id)")``…) and bars outgoing calls of members of the ``suspended``
group: ``if (is_user_in("From", "suspended")) { sl_send_reply("403", "Outgoing calls barred"); exit; }``.
``usr_preferences.uuid`` holds Multibill's service id. Written by ``integrations/provisioning/voip``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

_EPOCH = text("'2000-01-01 00:00:01'")


class SipSubscriber(Base):
    __tablename__ = "subscriber"
    __table_args__ = (
        UniqueConstraint("username", "domain", name="subscriber_account_idx"),
        Index("subscriber_username_idx", "username"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), server_default="")
    domain: Mapped[str] = mapped_column(String(64), server_default="")
    password: Mapped[str] = mapped_column(String(64), server_default="")
    ha1: Mapped[str] = mapped_column(String(128), server_default="")
    ha1b: Mapped[str] = mapped_column(String(128), server_default="")


class SipGroup(Base):
    __tablename__ = "grp"
    __table_args__ = (UniqueConstraint("username", "domain", "grp", name="account_group_idx"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), server_default="")
    domain: Mapped[str] = mapped_column(String(64), server_default="")
    grp: Mapped[str] = mapped_column(String(64), server_default="")
    last_modified: Mapped[datetime] = mapped_column(server_default=_EPOCH)


class SipPreference(Base):
    __tablename__ = "usr_preferences"
    __table_args__ = (
        Index("usr_preferences_ua_idx", "uuid", "attribute"),
        Index("usr_preferences_uda_idx", "username", "domain", "attribute"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(64), server_default="")
    username: Mapped[str] = mapped_column(String(255), server_default="0")
    domain: Mapped[str] = mapped_column(String(64), server_default="")
    attribute: Mapped[str] = mapped_column(String(32), server_default="")
    type: Mapped[int] = mapped_column(Integer, server_default="0")
    value: Mapped[str] = mapped_column(String(128), server_default="")
    last_modified: Mapped[datetime] = mapped_column(server_default=_EPOCH)
