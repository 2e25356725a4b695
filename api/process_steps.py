"""What a process did and is doing, read from its Temporal history and description.

Steps are the activities, child processes and timers of the history (and the signals it received),
each with its name, times and outcome; failures name the step and the reason (a failed activity or
child, a pending activity's last failed attempt, the process's own failure). Nothing here writes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import WorkflowExecutionDescription

from runtime.history_markers import local_activity

MAX_STEPS = 200
"""A long process (a bill run's pages, the webhook relay) shows its latest steps only."""


def _time(stamp: Timestamp) -> datetime | None:
    if not stamp.seconds and not stamp.nanos:
        return None
    return stamp.ToDatetime(tzinfo=UTC)


def failure_reason(failure: Failure) -> str:
    """The failure's message with the messages of its causes (an activity error wraps the real one)."""
    parts: list[str] = []
    current: Failure | None = failure
    while current is not None and len(parts) < 4:
        if current.message and current.message not in parts:
            parts.append(current.message)
        current = current.cause if current.HasField("cause") else None
    return ": ".join(parts) or "unknown failure"


_ACTIVITY_END = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: ("completed", "activity_task_completed_event_attributes"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: ("failed", "activity_task_failed_event_attributes"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: ("timed_out", "activity_task_timed_out_event_attributes"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: ("cancelled", "activity_task_canceled_event_attributes"),
}
_CHILD_END = {
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: (
        "completed",
        "child_workflow_execution_completed_event_attributes",
    ),
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: (
        "failed",
        "child_workflow_execution_failed_event_attributes",
    ),
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: (
        "cancelled",
        "child_workflow_execution_canceled_event_attributes",
    ),
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: (
        "timed_out",
        "child_workflow_execution_timed_out_event_attributes",
    ),
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: (
        "terminated",
        "child_workflow_execution_terminated_event_attributes",
    ),
}


class StepReader:
    """Folds history events into steps (by the id of the event that opened each) and failures."""

    def __init__(self) -> None:
        self.steps: dict[int, dict[str, Any]] = {}
        self.failures: list[dict[str, Any]] = []
        self.process_failure: str | None = None

    def _open(self, event: HistoryEvent, kind: str, name: str, **extra: Any) -> None:
        at = _time(event.event_time)
        self.steps[event.event_id] = {
            "kind": kind,
            "name": name,
            "started_at": at,
            "ended_at": None,
            "outcome": "running",
            "attempt": None,
            "reason": None,
            **extra,
        }

    def _close(self, opened_by: int, outcome: str, event: HistoryEvent, reason: str | None = None) -> None:
        step = self.steps.get(opened_by)
        if step is None:
            return
        step["outcome"] = outcome
        step["ended_at"] = _time(event.event_time)
        if reason:
            step["reason"] = reason
            self.failures.append(
                {"step": step["name"], "kind": step["kind"], "reason": reason, "at": step["ended_at"]}
            )

    def _local_activity(self, event: HistoryEvent) -> None:
        """A local activity (a short database step run in the workflow's task): one step of kind
        ``activity`` (``local``), from the marker recorded when it ended (runtime/history_markers.py)."""
        found = local_activity(event)
        if found is None:
            return
        self._open(event, "activity", found.name, local=True)
        self.steps[event.event_id]["attempt"] = found.attempt
        failed = found.failure is not None
        reason = failure_reason(found.failure) if found.failure is not None else None
        self._close(event.event_id, "failed" if failed else "completed", event, reason)

    def read(self, event: HistoryEvent) -> None:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            self._open(event, "activity", event.activity_task_scheduled_event_attributes.activity_type.name)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if started.scheduled_event_id in self.steps:
                self.steps[started.scheduled_event_id]["attempt"] = started.attempt
        elif kind in _ACTIVITY_END:
            outcome, field = _ACTIVITY_END[kind]
            attrs = getattr(event, field)
            failure = attrs.failure if outcome in ("failed", "timed_out") else None
            self._close(
                attrs.scheduled_event_id, outcome, event, failure_reason(failure) if failure else None
            )
        elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            child = event.start_child_workflow_execution_initiated_event_attributes
            self._open(event, "child", child.workflow_type.name, process_id=child.workflow_id)
        elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
            refused = event.start_child_workflow_execution_failed_event_attributes
            self._close(refused.initiated_event_id, "not_started", event)
        elif kind in _CHILD_END:
            outcome, field = _CHILD_END[kind]
            attrs = getattr(event, field)
            failed = outcome in ("failed", "timed_out") and attrs.HasField("failure")
            self._close(
                attrs.initiated_event_id, outcome, event, failure_reason(attrs.failure) if failed else None
            )
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            self._local_activity(event)
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            timer = event.timer_started_event_attributes
            at = _time(event.event_time)
            fires = at + timer.start_to_fire_timeout.ToTimedelta() if at else None
            self._open(event, "timer", f"timer {timer.timer_id}", fires_at=fires)
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            self._close(event.timer_fired_event_attributes.started_event_id, "fired", event)
        elif kind == EventType.EVENT_TYPE_TIMER_CANCELED:
            self._close(event.timer_canceled_event_attributes.started_event_id, "cancelled", event)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            self._open(event, "signal", event.workflow_execution_signaled_event_attributes.signal_name)
            self.steps[event.event_id].update(outcome="received", ended_at=_time(event.event_time))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            reason = failure_reason(event.workflow_execution_failed_event_attributes.failure)
            self.process_failure = reason
            self.failures.append(
                {"step": "process", "kind": "process", "reason": reason, "at": _time(event.event_time)}
            )


def read_steps(
    events: list[HistoryEvent], description: WorkflowExecutionDescription, process_status: str
) -> dict[str, Any]:
    """The steps, failures and pending timers of a process, from its history and description."""
    reader = StepReader()
    for event in events:
        reader.read(event)
    steps = list(reader.steps.values())
    closed = process_status != "running"
    pending_by_name: dict[str, PendingActivityInfo] = {}
    for info in description.raw_description.pending_activities:
        pending_by_name.setdefault(info.activity_type.name, info)
    for step in steps:
        if step["outcome"] != "running":
            continue
        if closed:
            step["outcome"] = "abandoned"
            continue
        pending: PendingActivityInfo | None = (
            pending_by_name.pop(step["name"], None) if step["kind"] == "activity" else None
        )
        if pending is None:
            continue
        step["attempt"] = pending.attempt
        step["next_attempt_at"] = _time(pending.next_attempt_schedule_time)
        if pending.HasField("last_failure"):
            reason = failure_reason(pending.last_failure)
            step["reason"] = reason
            step["outcome"] = "retrying"
            reader.failures.append(
                {
                    "step": step["name"],
                    "kind": "activity",
                    "reason": reason,
                    "attempt": pending.attempt,
                    "at": _time(pending.last_attempt_complete_time) or _time(pending.last_started_time),
                }
            )
    timers = [
        {"at": step["fires_at"], "what": f"{step['name']} fires", "source": "timer"}
        for step in steps
        if step["kind"] == "timer" and step["outcome"] == "running" and step.get("fires_at")
    ]
    retries = [
        {
            "at": step["next_attempt_at"],
            "what": f"attempt {step['attempt']} of {step['name']}",
            "source": "retry",
        }
        for step in steps
        if step.get("next_attempt_at") and step.get("attempt")
    ]
    truncated = len(steps) > MAX_STEPS
    return {
        "steps": steps[-MAX_STEPS:],
        "steps_truncated": truncated,
        "failures": reader.failures,
        "timers": timers,
        "retries": retries,
    }
