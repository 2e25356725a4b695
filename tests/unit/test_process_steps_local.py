"""Local activities (Onboarding's database steps since ``onboarding-local-steps``) are steps too: read from
the marker the SDK records when each ends, in order with the ordinary activities."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory

from api.process_steps import StepReader

HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"


def _steps(name: str) -> list[dict[str, object]]:
    history = WorkflowHistory.from_json("onboarding", (HISTORIES / name).read_text())
    reader = StepReader()
    for event in history.events:
        reader.read(event)
    return list(reader.steps.values())


def test_local_steps_are_listed_with_the_activities_in_order() -> None:
    steps = [s for s in _steps("onboarding_local_steps.json") if s["kind"] == "activity"]
    names = [s["name"] for s in steps]
    assert names[:2] == ["create_subscription", "add_activation_charges"]
    assert "provision_service" in names
    local = {s["name"]: s for s in steps if s.get("local")}
    assert "create_subscription" in local and "provision_service" not in local
    assert all(s["outcome"] == "completed" and s["attempt"] == 1 for s in local.values())
    assert all(s["ended_at"] is not None for s in steps)


def test_the_opening_step_is_one_local_step_before_provisioning() -> None:
    steps = [
        (s["name"], s["outcome"], bool(s.get("local")))
        for s in _steps("onboarding_one_opening_step.json")
        if s["kind"] == "activity"
    ]
    assert steps[:2] == [("open_subscription", "completed", True), ("provision_service", "completed", False)]
    assert [name for name, _, _ in steps].count("add_activation_charges") == 0


def test_a_failed_onboarding_shows_its_local_steps_then_the_failed_provisioning() -> None:
    steps = [
        (s["name"], s["outcome"], bool(s.get("local")))
        for s in _steps("onboarding_compensated_local_steps.json")
    ]
    assert steps[:3] == [
        ("create_subscription", "completed", True),
        ("add_activation_charges", "completed", True),
        ("provision_service", "failed", False),
    ]
    assert ("core_patch", "completed", True) not in steps  # a patch marker is not a step
