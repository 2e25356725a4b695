"""/v1/dunning/ladder: the operator's dunning ladder (retries, notices, suspension, termination)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from activities.catalog.records import operator_of
from api.deps import OperatorAdminDep, SettingsDep, StaffDep
from domain.dunning import DEFAULT_LADDER, Ladder
from models.base import unit_of_work
from models.organisations import Organisation

router = APIRouter(prefix="/v1/dunning", tags=["payments"])


@router.get("/ladder", summary="The dunning ladder in force (the default until the operator sets one)")
def get_ladder(principal: StaffDep, settings: SettingsDep) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
        org = session.get(Organisation, operator_of(principal))
        spec = org.dunning_ladder if org else None
    ladder = Ladder.model_validate(spec) if spec else DEFAULT_LADDER
    return {"object": "dunning_ladder", "default": spec is None, **ladder.model_dump(mode="json")}


@router.put("/ladder", summary="Set the dunning ladder (applies to dunning started from now on)")
def put_ladder(body: Ladder, principal: OperatorAdminDep, settings: SettingsDep) -> dict[str, Any]:
    operator = operator_of(principal)
    with unit_of_work(settings.database_url or "") as session:
        org = session.get(Organisation, operator)
        assert org is not None
        org.dunning_ladder = body.model_dump(mode="json")
    return {"object": "dunning_ladder", "default": False, **body.model_dump(mode="json")}
