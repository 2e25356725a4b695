"""The FreeRADIUS provisioning adapter (service kind ``broadband``).

* activate — user with password (derived from the order's idempotency key, written only if the user
  has none, so retries and re-activations keep it) and speed group; not suspended.
* suspend — into ``mb-suspended`` (Access-Reject), then a Disconnect-Request to the NAS so the
  running session ends at once. resume — out of it. change — new speed group and a CoA-Request.
* terminate — the user's rows are deleted and its session disconnected.

The username is ``characteristics["radius_username"]`` or the service id. SQL is the source of
truth; a NAS that does not answer makes the order fail retryably (the SQL part is idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import ProvisioningRequest, ProvisioningResult, ServiceState
from integrations.provisioning.credentials import derive_password
from integrations.provisioning.radius import store
from integrations.provisioning.radius.dynauth import DynAuthAnswer, NasPeer
from integrations.provisioning.radius.profile import ProfileError, SpeedProfile, speed_profile
from integrations.provisioning.sqlpeer import SqlPeer


@dataclass(frozen=True)
class RadiusConfig:
    database_url: str
    password_secret: str
    nas: NasPeer | None = None


class RadiusAdapter:
    name = "freeradius"
    kinds = frozenset({"broadband"})

    def __init__(self, config: RadiusConfig) -> None:
        self.config = config
        self.db = SqlPeer(config.database_url)

    @staticmethod
    def username_for(request: ProvisioningRequest) -> str:
        return str(request.characteristics.get("radius_username") or request.service_id)

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        username = self.username_for(request)
        try:
            answer = self._apply(request, username)
        except (ProfileError, store.UsernameTaken) as exc:
            return ProvisioningResult(status="failed", detail=str(exc), retryable=False)
        if answer is not None and not answer.ok:
            return ProvisioningResult(
                status="failed", reference=username, detail=answer.detail, retryable=answer.retryable
            )
        detail = f"{request.action.value} {username}" + (f"; {answer.detail}" if answer else "")
        return ProvisioningResult(status="done", reference=username, detail=detail)

    def _apply(self, request: ProvisioningRequest, username: str) -> DynAuthAnswer | None:
        action = request.action
        profile: SpeedProfile | None = None
        if action in (ProvisioningAction.ACTIVATE, ProvisioningAction.CHANGE):
            profile = speed_profile(request.characteristics)
        with self.db.engine.begin() as conn:
            if profile is not None:
                store.ensure_groups(conn, profile)
                password = None
                if action is ProvisioningAction.ACTIVATE and not store.has_password(conn, username):
                    password = derive_password(self.config.password_secret, request.idempotency_key)
                store.put_user(conn, username, request.service_id, password, profile)
                if action is ProvisioningAction.ACTIVATE:
                    store.set_suspended(conn, username, False)
            elif action in (ProvisioningAction.SUSPEND, ProvisioningAction.RESUME):
                self._check_owner(conn, username, request.service_id)
                store.ensure_groups(conn, None)
                store.set_suspended(conn, username, action is ProvisioningAction.SUSPEND)
            elif action is ProvisioningAction.TERMINATE:
                owner = store.owner_of(conn, username)
                if owner not in (None, request.service_id):
                    raise store.UsernameTaken(f"RADIUS user {username!r} belongs to service {owner}")
                store.delete_user(conn, username)
        return self._tell_nas(action, username, profile)

    @staticmethod
    def _check_owner(conn: Connection, username: str, service_id: str) -> None:
        owner = store.owner_of(conn, username)
        if owner is None:
            raise store.UsernameTaken(f"RADIUS user {username!r} does not exist (activate it first)")
        if owner != service_id:
            raise store.UsernameTaken(f"RADIUS user {username!r} belongs to service {owner}")

    def _tell_nas(
        self, action: ProvisioningAction, username: str, profile: SpeedProfile | None
    ) -> DynAuthAnswer | None:
        nas = self.config.nas
        if nas is None:
            return None
        if action in (ProvisioningAction.SUSPEND, ProvisioningAction.TERMINATE):
            return nas.disconnect(username)
        if action is ProvisioningAction.CHANGE and profile is not None:
            return nas.change(username, profile.reply_attributes())
        return None

    def list_state(self) -> list[ServiceState]:
        with self.db.engine.connect() as conn:
            users = store.list_users(conn)
        return [
            ServiceState(service_id=u.service_id, active=True, suspended=u.suspended, profile=u.profile)
            for u in users
        ]
