"""Local activities in a Temporal history: they leave no ActivityTask events, only the marker the SDK's
core records when each one ends (``core_local_activity``), whose ``data`` detail is plain JSON written by
the core (never through our payload codec): activity type, attempt, times. Both step readers (the API's
api/process_steps.py and the CLI's runtime/process_ops.py) show them as activity steps."""

from __future__ import annotations

import json
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent

LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass(frozen=True)
class LocalActivity:
    name: str
    attempt: int | None
    failure: Failure | None


def local_activity(event: HistoryEvent) -> LocalActivity | None:
    """The local activity this event records the end of, or None (another event, a patch marker, or a
    marker whose data cannot be read)."""
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
        return None
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in marker.details:
        return None
    payloads = marker.details["data"].payloads
    try:
        data = json.loads(payloads[0].data) if payloads else None
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.get("activity_type"):
        return None
    attempt = data.get("attempt")
    return LocalActivity(
        name=str(data["activity_type"]),
        attempt=attempt if isinstance(attempt, int) else None,
        failure=marker.failure if marker.HasField("failure") else None,
    )
