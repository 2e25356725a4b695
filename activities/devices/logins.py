"""Device authentication for OTT apps: service login secrets and the devices logged in with them.

Staff issue a *service login secret* for one subscription service (``POST
/v1/devices/credentials``); it is shown once (``mbs_…``) and only its SHA-256 is stored. An app
logs in with the account id, that secret and its own stable device id. The plan's product says
how many devices may be logged in at once (characteristic ``max_devices``) and what happens at the
limit (``device_login_policy``: ``refuse_new`` or ``logout_oldest``). Logins of one service are
serialised by a row lock on the service, so two apps racing for the last place cannot both get it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from activities.accounts.organisations import hash_secret
from activities.devices.moves import live_service
from domain.devices import ActiveLogin, LoginPolicy, decide_login, login_rules
from domain.errors import NotFound, RuleViolation
from domain.ids import new_id
from domain.principal import Principal
from models.base import utcnow
from models.catalog import PlanVersion, Product
from models.devices import DeviceLogin, ServiceCredential
from models.organisations import Organisation
from models.subscriptions import Subscription, SubscriptionService

SECRET_PREFIX = "mbs_"  # noqa: S105 - the public prefix of issued secrets


class LoginRefused(RuleViolation):
    status = 401


class ServiceNotActive(RuleViolation):
    status = 403


@dataclass(frozen=True)
class LoginOutcome:
    login: DeviceLogin
    logged_out: list[str]
    max_devices: int | None
    policy: LoginPolicy


def _service_with_org(
    session: Session, service_id: str, *, lock: bool = False
) -> tuple[SubscriptionService, Subscription, str]:
    service = live_service(session, service_id, lock=lock)
    row = session.execute(
        select(Subscription, Organisation.path)
        .join(Organisation, Organisation.id == Subscription.organisation_id)
        .where(Subscription.id == service.subscription_id)
    ).one()
    return service, row[0], row[1]


def issue_credential(
    session: Session, principal: Principal, service_id: str
) -> tuple[ServiceCredential, str]:
    """A new secret for a service (any earlier one stops working and its devices are logged out)."""
    service, subscription, path = _service_with_org(session, service_id)
    if not path.startswith(principal.organisation_path):
        raise NotFound("service", service_id)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = session.get(ServiceCredential, service.line_id, with_for_update=True)
    if row is None:
        row = ServiceCredential(
            service_id=service.line_id, account_id=subscription.account_id, secret_hash=""
        )
        session.add(row)
    row.secret_hash, row.issued_by = hash_secret(secret), principal.key_id
    row.issued_at = utcnow()
    _end_logins(session, service.line_id, None, "credential_rotated", row.issued_at)
    session.flush()
    return row, secret


def _end_logins(session: Session, service_id: str, ids: list[str] | None, reason: str, now: datetime) -> None:
    stmt = update(DeviceLogin).where(
        DeviceLogin.service_id == service_id, DeviceLogin.logged_out_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(DeviceLogin.id.in_(ids))
    session.execute(stmt.values(logged_out_at=now, logout_reason=reason))


def _authenticate(session: Session, account_id: str, secret: str) -> ServiceCredential:
    credential = session.execute(
        select(ServiceCredential).where(ServiceCredential.secret_hash == hash_secret(secret))
    ).scalar_one_or_none()
    if credential is None or not hmac.compare_digest(credential.account_id, account_id):
        raise LoginRefused("invalid_credentials", "The account id and service secret do not match")
    return credential


def characteristics_of(
    session: Session, subscription: Subscription, service: SubscriptionService
) -> dict[str, Any]:
    """The characteristics of the product the service's plan version sells (name → value)."""
    path = session.execute(
        select(Organisation.path).where(Organisation.id == subscription.organisation_id)
    ).scalar_one()
    operator_id = path.strip("/").split("/")[0]
    plan = session.execute(
        select(PlanVersion).where(
            PlanVersion.organisation_id == operator_id,
            PlanVersion.code == service.plan_code,
            PlanVersion.version == service.plan_version,
        )
    ).scalar_one_or_none()
    if plan is None:
        return {}
    product = session.execute(
        select(Product).where(Product.organisation_id == operator_id, Product.code == plan.product_code)
    ).scalar_one_or_none()
    found = product.spec.get("characteristics", []) if product is not None else []
    return {c["name"]: c["value"] for c in found}


def login(
    session: Session, *, account_id: str, secret: str, device_id: str, device_name: str | None, now: datetime
) -> LoginOutcome:
    credential = _authenticate(session, account_id, secret)
    service, subscription, _ = _service_with_org(session, credential.service_id, lock=True)
    if service.status != "active" or subscription.status != "active":
        raise ServiceNotActive(
            "service_not_active", f"service {service.line_id} is {service.status}; log in refused"
        )
    max_devices, policy = login_rules(characteristics_of(session, subscription, service))
    active = list(
        session.execute(
            select(DeviceLogin).where(
                DeviceLogin.service_id == service.line_id, DeviceLogin.logged_out_at.is_(None)
            )
        ).scalars()
    )
    decision = decide_login(
        [ActiveLogin(a.id, a.device_id, a.logged_in_at) for a in active], device_id, max_devices, policy
    )
    if decision.refresh is not None:
        row = next(a for a in active if a.id == decision.refresh)
        row.last_seen_at = now
        row.device_name = device_name or row.device_name
        return LoginOutcome(row, [], max_devices, policy)
    if decision.log_out:
        _end_logins(session, service.line_id, list(decision.log_out), "device_limit", now)
    row = DeviceLogin(
        id=new_id("dlg"),
        account_id=account_id,
        service_id=service.line_id,
        device_id=device_id,
        device_name=device_name,
        logged_in_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return LoginOutcome(row, list(decision.log_out), max_devices, policy)


def logout(session: Session, *, account_id: str, secret: str, device_id: str, now: datetime) -> int:
    credential = _authenticate(session, account_id, secret)
    result = session.execute(
        update(DeviceLogin)
        .where(
            DeviceLogin.service_id == credential.service_id,
            DeviceLogin.device_id == device_id,
            DeviceLogin.logged_out_at.is_(None),
        )
        .values(logged_out_at=now, logout_reason="logout")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def active_logins(session: Session, service_id: str) -> list[DeviceLogin]:
    return list(
        session.execute(
            select(DeviceLogin)
            .where(DeviceLogin.service_id == service_id, DeviceLogin.logged_out_at.is_(None))
            .order_by(DeviceLogin.logged_in_at)
        ).scalars()
    )
