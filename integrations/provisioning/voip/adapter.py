"""The Kamailio provisioning adapter (service kind ``telephony``); tables described in models/kamailio.

* activate — ``subscriber`` row (username, domain, ``ha1``/``ha1b`` digests of a password derived from
  the order's idempotency key; written only for a new account, so retries and re-activations keep
  it; the plaintext is never stored) and ``usr_preferences`` ``caller_id`` and ``max_calls``
  (``uuid`` = service id); not suspended.
* suspend — membership of the ``suspended`` group, which the routing script checks to bar outgoing
  calls (incoming calls still ring); resume — out of it. change — caller id and max calls.
* terminate — every row of the account deleted.

Username: ``characteristics["sip_username"]``, else ``"phone_number"``, else the service id. Caller
id: ``"caller_id"`` or the phone number; max concurrent calls: ``"max_concurrent_calls"`` (default 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import ProvisioningRequest, ProvisioningResult, ServiceState
from integrations.provisioning.credentials import derive_password, sip_ha1
from integrations.provisioning.sqlpeer import SqlPeer

SUSPENDED = "suspended"
subscriber = sa.table(
    "subscriber", sa.column("username"), sa.column("domain"), sa.column("ha1"), sa.column("ha1b")
)
grp = sa.table("grp", sa.column("username"), sa.column("domain"), sa.column("grp"))
usr_preferences = sa.table(
    "usr_preferences",
    sa.column("uuid"),
    sa.column("username"),
    sa.column("domain"),
    sa.column("attribute"),
    sa.column("type"),
    sa.column("value"),
)


class SipAccountError(ValueError):
    """Bad data for a SIP account (retrying cannot help)."""


@dataclass(frozen=True)
class KamailioConfig:
    database_url: str
    domain: str
    password_secret: str


@dataclass(frozen=True)
class SipAccount:
    username: str
    caller_id: str
    max_calls: int

    @classmethod
    def of(cls, request: ProvisioningRequest) -> SipAccount:
        c: dict[str, Any] = request.characteristics
        username = str(c.get("sip_username") or c.get("phone_number") or request.service_id)
        caller_id = str(c.get("caller_id") or c.get("phone_number") or username)
        raw = c.get("max_concurrent_calls", 2)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 100:
            raise SipAccountError(f"max_concurrent_calls must be a whole number from 1 to 100, got {raw!r}")
        if len(username) > 64 or len(caller_id) > 128:
            raise SipAccountError("sip_username is at most 64 characters and caller_id 128")
        return cls(username, caller_id, raw)


class KamailioAdapter:
    name = "kamailio"
    kinds = frozenset({"telephony"})

    def __init__(self, config: KamailioConfig) -> None:
        self.config = config
        self.db = SqlPeer(config.database_url)

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        try:
            account = SipAccount.of(request)
            with self.db.engine.begin() as conn:
                self._apply(conn, request, account)
        except SipAccountError as exc:
            return ProvisioningResult(status="failed", detail=str(exc), retryable=False)
        reference = f"{account.username}@{self.config.domain}"
        return ProvisioningResult(
            status="done", reference=reference, detail=f"{request.action.value} {reference}"
        )

    def _where(self, table: sa.TableClause, username: str) -> sa.ColumnElement[bool]:
        return sa.and_(table.c.username == username, table.c.domain == self.config.domain)

    def _owner(self, conn: Connection, username: str) -> str | None:
        return conn.execute(
            sa.select(usr_preferences.c.uuid).where(self._where(usr_preferences, username)).limit(1)
        ).scalar()

    def _apply(self, conn: Connection, request: ProvisioningRequest, account: SipAccount) -> None:
        action, user = request.action, account.username
        owner = self._owner(conn, user)
        if owner not in (None, request.service_id):
            raise SipAccountError(f"SIP account {user}@{self.config.domain} belongs to service {owner}")
        if owner is None and action in (ProvisioningAction.SUSPEND, ProvisioningAction.RESUME):
            raise SipAccountError(
                f"SIP account {user}@{self.config.domain} does not exist (activate it first)"
            )
        if action is ProvisioningAction.TERMINATE:
            for table in (subscriber, grp, usr_preferences):
                conn.execute(sa.delete(table).where(self._where(table, user)))
            return
        if action in (ProvisioningAction.SUSPEND, ProvisioningAction.RESUME, ProvisioningAction.ACTIVATE):
            conn.execute(sa.delete(grp).where(self._where(grp, user), grp.c.grp == SUSPENDED))
            if action is ProvisioningAction.SUSPEND:
                conn.execute(sa.insert(grp).values(username=user, domain=self.config.domain, grp=SUSPENDED))
                return
            if action is ProvisioningAction.RESUME:
                return
        exists = conn.execute(sa.select(subscriber.c.username).where(self._where(subscriber, user))).first()
        if exists is None:
            if action is not ProvisioningAction.ACTIVATE:
                raise SipAccountError(
                    f"SIP account {user}@{self.config.domain} does not exist (activate it first)"
                )
            password = derive_password(self.config.password_secret, request.idempotency_key)
            ha1, ha1b = sip_ha1(user, self.config.domain, password)
            conn.execute(
                sa.insert(subscriber).values(username=user, domain=self.config.domain, ha1=ha1, ha1b=ha1b)
            )
        conn.execute(sa.delete(usr_preferences).where(self._where(usr_preferences, user)))
        prefs = {"caller_id": account.caller_id, "max_calls": str(account.max_calls)}
        conn.execute(
            sa.insert(usr_preferences),
            [
                {
                    "uuid": request.service_id,
                    "username": user,
                    "domain": self.config.domain,
                    "attribute": a,
                    "type": 0,
                    "value": v,
                }
                for a, v in prefs.items()
            ],
        )

    def list_state(self) -> list[ServiceState]:
        with self.db.engine.connect() as conn:
            owners = conn.execute(
                sa.select(usr_preferences.c.uuid, usr_preferences.c.username).where(
                    usr_preferences.c.domain == self.config.domain, usr_preferences.c.attribute == "caller_id"
                )
            ).all()
            barred = set(
                conn.execute(
                    sa.select(grp.c.username).where(
                        grp.c.domain == self.config.domain, grp.c.grp == SUSPENDED
                    )
                ).scalars()
            )
        return [
            ServiceState(service_id=u, active=True, suspended=n in barred, profile=None) for u, n in owners
        ]
