"""/v1/me/sessions: the devices a subscriber is signed in on (portal sessions and app installations, the
current one flagged), and signing one out. Another login's session id is a 404, as if it did not exist."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from activities.identity.tokens import live_sessions, revoke_device
from api.deps import SessionDep, SettingsDep
from api.errors import not_found
from api.schemas.identity import SignedInDevice, SignedInDevices
from api.subscriber_deps import SubscriberDep
from models.base import unit_of_work

router = APIRouter(prefix="/v1/me/sessions", tags=["self-service"])


@router.get("", response_model=SignedInDevices, summary="The devices you are signed in on")
def list_sessions(subscriber: SubscriberDep, session: SessionDep) -> SignedInDevices:
    devices = live_sessions(session, subscriber.login_id, subscriber.session_id)
    return SignedInDevices(data=[SignedInDevice.model_validate(asdict(d)) for d in devices])


@router.delete(
    "/{session_id}", status_code=204, summary="Sign a device out (a browser, or an app installation)"
)
async def delete_session(session_id: str, subscriber: SubscriberDep, settings: SettingsDep) -> Response:
    def revoke() -> bool:
        with unit_of_work(settings.database_url or "") as session:
            return revoke_device(session, subscriber.login_id, session_id)

    if not await run_in_threadpool(revoke):
        raise not_found("session", session_id)
    return Response(status_code=204)
