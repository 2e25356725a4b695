"""/v1/dunning/ladder: the operator's dunning ladder (retries, notices, suspension, termination)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from activities.catalog.records import operator_of
from api.deps import OperatorAdminDep, SessionDep, StaffDep
from api.schemas.payments import LadderOut
from domain.dunning import DEFAULT_LADDER, Ladder
from models.organisations import Organisation

router = APIRouter(prefix="/v1/dunning", tags=["payments"])


@router.get(
    "/ladder",
    response_model=LadderOut,
    summary="The dunning ladder in force (the default until the operator sets one)",
)
def get_ladder(principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    org = session.get(Organisation, operator_of(principal))
    spec = org.dunning_ladder if org else None
    ladder = Ladder.model_validate(spec) if spec else DEFAULT_LADDER
    return {"object": "dunning_ladder", "default": spec is None, **ladder.model_dump(mode="json")}


@router.put(
    "/ladder",
    response_model=LadderOut,
    summary="Set the dunning ladder (applies to dunning started from now on)",
)
def put_ladder(body: Ladder, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    org = session.get(Organisation, operator_of(principal))
    assert org is not None
    org.dunning_ladder = body.model_dump(mode="json")
    return {"object": "dunning_ladder", "default": False, **body.model_dump(mode="json")}
