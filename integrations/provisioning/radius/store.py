"""Writes to the FreeRADIUS SQL tables (rlm_sql's schema; see models/radius.py for the DDL).

One user is three things: ``radcheck`` ``Cleartext-Password := …`` (FreeRADIUS must read the
password to check PAP/CHAP, so the plaintext lives there and nowhere else), ``radreply``
``Class := "mb:<service id>"`` (tells us whose user it is and is echoed in accounting), and
``radusergroup`` rows: the speed group at priority 10 and, while suspended, ``mb-suspended`` at
priority 0. FreeRADIUS processes groups by ascending priority and stops after the first unless its
reply says ``Fall-Through = Yes``, so the suspended group hides the speed group; its
``radgroupcheck`` ``Auth-Type := Reject`` answers Access-Reject.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from integrations.provisioning.radius.profile import SpeedProfile

SUSPENDED_GROUP = "mb-suspended"
SPEED_PRIORITY = 10
CLASS_PREFIX = "mb:"


def _attribute_table(name: str, key: str) -> sa.TableClause:
    return sa.table(name, sa.column(key), sa.column("attribute"), sa.column("op"), sa.column("value"))


radcheck = _attribute_table("radcheck", "username")
radreply = _attribute_table("radreply", "username")
radgroupcheck = _attribute_table("radgroupcheck", "groupname")
radgroupreply = _attribute_table("radgroupreply", "groupname")
radusergroup = sa.table("radusergroup", sa.column("username"), sa.column("groupname"), sa.column("priority"))


class UsernameTaken(ValueError):
    """The username already belongs to another service."""


@dataclass(frozen=True)
class RadiusUser:
    username: str
    service_id: str
    groups: tuple[str, ...]

    @property
    def suspended(self) -> bool:
        return SUSPENDED_GROUP in self.groups

    @property
    def profile(self) -> str | None:
        return next((g for g in self.groups if g.startswith("mb-speed-")), None)


def _replace_group_rows(
    conn: Connection, table: sa.TableClause, group: str, rows: list[tuple[str, str, str]]
) -> None:
    existing = conn.execute(
        sa.select(table.c.attribute, table.c.op, table.c.value).where(table.c.groupname == group)
    ).all()
    if sorted(tuple(r) for r in existing) == sorted(rows):
        return
    conn.execute(sa.delete(table).where(table.c.groupname == group))
    conn.execute(
        sa.insert(table), [{"groupname": group, "attribute": a, "op": o, "value": v} for a, o, v in rows]
    )


def ensure_groups(conn: Connection, profile: SpeedProfile | None) -> None:
    """The suspended group and (when given) the speed group, as this version of Multibill defines them."""
    _replace_group_rows(conn, radgroupcheck, SUSPENDED_GROUP, [("Auth-Type", ":=", "Reject")])
    _replace_group_rows(conn, radgroupreply, SUSPENDED_GROUP, [("Reply-Message", ":=", "Account suspended")])
    if profile is not None:
        _replace_group_rows(conn, radgroupreply, profile.group, profile.reply_attributes())


def owner_of(conn: Connection, username: str) -> str | None:
    value = conn.execute(
        sa.select(radreply.c.value).where(radreply.c.username == username, radreply.c.attribute == "Class")
    ).scalar()
    return value[len(CLASS_PREFIX) :] if value and value.startswith(CLASS_PREFIX) else value


def has_password(conn: Connection, username: str) -> bool:
    return (
        conn.execute(
            sa.select(sa.func.count())
            .select_from(radcheck)
            .where(radcheck.c.username == username, radcheck.c.attribute == "Cleartext-Password")
        ).scalar_one()
        > 0
    )


def put_user(
    conn: Connection, username: str, service_id: str, password: str | None, profile: SpeedProfile
) -> None:
    """Create or update a user: the password only when given, the owner tag, the speed group."""
    owner = owner_of(conn, username)
    if owner is not None and owner != service_id:
        raise UsernameTaken(f"RADIUS user {username!r} belongs to service {owner}")
    if password is not None:
        conn.execute(
            sa.delete(radcheck).where(
                radcheck.c.username == username, radcheck.c.attribute == "Cleartext-Password"
            )
        )
        conn.execute(
            sa.insert(radcheck).values(
                username=username, attribute="Cleartext-Password", op=":=", value=password
            )
        )
    if owner is None:
        conn.execute(
            sa.insert(radreply).values(
                username=username, attribute="Class", op=":=", value=CLASS_PREFIX + service_id
            )
        )
    conn.execute(
        sa.delete(radusergroup).where(
            radusergroup.c.username == username, radusergroup.c.groupname.like("mb-speed-%")
        )
    )
    conn.execute(
        sa.insert(radusergroup).values(username=username, groupname=profile.group, priority=SPEED_PRIORITY)
    )


def set_suspended(conn: Connection, username: str, suspended: bool) -> None:
    conn.execute(
        sa.delete(radusergroup).where(
            radusergroup.c.username == username, radusergroup.c.groupname == SUSPENDED_GROUP
        )
    )
    if suspended:
        conn.execute(sa.insert(radusergroup).values(username=username, groupname=SUSPENDED_GROUP, priority=0))


def delete_user(conn: Connection, username: str) -> None:
    for table in (radcheck, radreply, radusergroup):
        conn.execute(sa.delete(table).where(table.c.username == username))


def list_users(conn: Connection) -> list[RadiusUser]:
    """Every user Multibill provisioned (tagged with a ``Class`` of ``mb:…``)."""
    owners = conn.execute(
        sa.select(radreply.c.username, radreply.c.value).where(
            radreply.c.attribute == "Class", radreply.c.value.like(CLASS_PREFIX + "%")
        )
    ).all()
    groups: dict[str, list[str]] = {}
    for username, group in conn.execute(
        sa.select(radusergroup.c.username, radusergroup.c.groupname).order_by(radusergroup.c.priority)
    ):
        groups.setdefault(username, []).append(group)
    return [
        RadiusUser(username, value[len(CLASS_PREFIX) :], tuple(groups.get(username, [])))
        for username, value in owners
    ]
