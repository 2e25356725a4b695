"""/v1/me: the signed-in subscriber (portal cookie or app token) and the accounts it may see.

The self-service API lives under /v1/me/…, one module per area (me_*.py); every route there takes
``SubscriberDep`` and answers 404 for any object outside ``subscriber.account_ids``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.subscriber_deps import SubscriberDep

router = APIRouter(tags=["self-service"])


class MeOut(BaseModel):
    login_id: str
    organisation_id: str
    account_id: str
    account_ids: list[str]
    session_id: str
    session_kind: str


@router.get("/v1/me", response_model=MeOut, summary="Who is signed in, and the accounts they may see")
def who_am_i(subscriber: SubscriberDep) -> MeOut:
    return MeOut(
        login_id=subscriber.login_id,
        organisation_id=subscriber.organisation_id,
        account_id=subscriber.account_id,
        account_ids=list(subscriber.account_ids),
        session_id=subscriber.session_id,
        session_kind=subscriber.kind.value,
    )
