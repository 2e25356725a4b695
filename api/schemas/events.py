"""Response bodies of ``/v1/events``: business events as integrators read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class EventOut(BaseModel):
    """One business event: what happened (``type``) to which object, and the object's snapshot then."""

    id: str = Field(description="evt_…; ids sort by time, the list is ordered by them")
    type: str = Field(description="one of the event types, e.g. invoice.issued")
    organisation_id: str = Field(description="the organisation the object belongs to")
    object_type: str = Field(description="account, subscription, invoice, credit_note, payment, wallet, …")
    object_id: str
    data: dict[str, Any] = Field(description="the object's snapshot (amounts in minor units)")
    api_version: str = Field(description="the version of the snapshot's shape")
    created_at: datetime = Field(description="when the change was committed (UTC)")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "evt_01JD8X3B2N4Q6R8T0V2W4Y6Z8A",
                    "type": "invoice.issued",
                    "organisation_id": "org_01JD8X3B2N4Q6R8T0V2W4Y6Z8B",
                    "object_type": "invoice",
                    "object_id": "inv_01JD8X3B2N4Q6R8T0V2W4Y6Z8C",
                    "data": {"id": "inv_01JD8X3B2N4Q6R8T0V2W4Y6Z8C", "status": "issued", "total_minor": 3100},
                    "api_version": "2026-11-30",
                    "created_at": "2026-11-30T12:00:00+00:00",
                }
            ]
        }
    }
