"""Device authentication for OTT apps: issue a service login secret, log devices in and out.

How it works:
1. Staff issue a secret for a subscriber's service: ``POST /v1/devices/credentials`` with the
   ``service_id`` (an API key and an Idempotency-Key are needed). The answer shows the secret
   (``mbs_…``) once; only its SHA-256 is stored. Issuing again rotates it and logs out every device.
2. The subscriber's app logs in: ``POST /v1/devices/login`` with ``account_id``, ``secret`` and
   its own stable ``device_id``. No API key: the secret is the credential. Logging in again from a
   device already logged in refreshes its ``last_seen_at``, so apps call it at start-up.
3. The plan's product sets the rules: ``max_devices`` (integer characteristic; absent: no limit) and
   ``device_login_policy`` (``refuse_new``, the default: 409 ``device_limit_reached``; or
   ``logout_oldest``: the oldest logins end, listed in ``logged_out``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from activities.devices import logins as device_logins
from api.deps import IdempotentWriteDep, SessionDep, StaffDep
from api.docs import problem_response
from api.schemas.devices import (
    CredentialIssue,
    CredentialOut,
    DeviceLoginIn,
    DeviceLoginOut,
    DeviceLogoutIn,
    DeviceLogoutOut,
)
from models.base import utcnow

router = APIRouter(prefix="/v1/devices", tags=["device login"])


@router.post(
    "/credentials", status_code=201, response_model=CredentialOut, summary="Issue a service login secret"
)
def issue_credential(body: CredentialIssue, principal: StaffDep, write: IdempotentWriteDep) -> JSONResponse:
    secrets: dict[str, str] = {}

    def produce(session: Session) -> dict[str, Any]:
        row, secret = device_logins.issue_credential(session, principal, body.service_id)
        secrets["secret"] = secret
        out = CredentialOut(
            service_id=row.service_id, account_id=row.account_id, secret=None, issued_at=row.issued_at
        )
        return out.model_dump(mode="json")

    stored = write.store(body, produce)
    # The secret is shown once, in the first answer; a replay answers it as null.
    out = {**stored.body, "secret": secrets.get("secret")}
    return JSONResponse(out, status_code=stored.status, headers=stored.headers)


@router.post(
    "/login",
    response_model=DeviceLoginOut,
    summary="Log a device in to a subscriber's service",
    responses={
        401: problem_response("invalid_credentials"),
        403: problem_response("service_not_active"),
        409: problem_response("device_limit_reached"),
    },
)
def login(body: DeviceLoginIn, session: SessionDep) -> dict[str, Any]:
    """No API key and no Idempotency-Key: the same device logging in twice refreshes its login."""
    outcome = device_logins.login(
        session,
        account_id=body.account_id,
        secret=body.secret,
        device_id=body.device_id,
        device_name=body.device_name,
        now=utcnow(),
    )
    row = outcome.login
    return DeviceLoginOut(
        id=row.id,
        service_id=row.service_id,
        device_id=row.device_id,
        device_name=row.device_name,
        logged_in_at=row.logged_in_at,
        last_seen_at=row.last_seen_at,
        logged_out=outcome.logged_out,
        max_devices=outcome.max_devices,
        policy=outcome.policy.value,
    ).model_dump(mode="json")


@router.post("/logout", response_model=DeviceLogoutOut, summary="Log a device out")
def logout(body: DeviceLogoutIn, session: SessionDep) -> dict[str, Any]:
    ended = device_logins.logout(
        session, account_id=body.account_id, secret=body.secret, device_id=body.device_id, now=utcnow()
    )
    return {"device_id": body.device_id, "logged_out": ended > 0}
