"""A child started with its parent's ``OrganisationPath`` (workflows/common.py ``start_child``) replays
histories whose child start carried no path: search attributes of a child start are not part of what a
replay compares, so the change needs no ``workflow.patched`` (a run started by the API with a path and
continued by a worker of the previous release replays on this one)."""

from __future__ import annotations

import base64
import json
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from runtime.codec import data_converter
from runtime.sandbox import workflow_runner
from runtime.settings import Settings
from runtime.worker import WORKFLOWS
from tests.workflows.history_store import HISTORIES


def keyword(value: str) -> dict[str, Any]:
    """A Keyword search attribute as a history's JSON holds it."""
    return {
        "metadata": {
            "encoding": base64.b64encode(b"json/plain").decode(),
            "type": base64.b64encode(b"Keyword").decode(),
        },
        "data": base64.b64encode(json.dumps(value).encode()).decode(),
    }


async def test_a_parent_with_a_path_replays_a_child_start_recorded_without_one() -> None:
    history = json.loads((HISTORIES / "collection_declined_card.json").read_text())
    children = [
        event["startChildWorkflowExecutionInitiatedEventAttributes"]
        for event in history["events"]
        if "startChildWorkflowExecutionInitiatedEventAttributes" in event
    ]
    assert children and all(not child.get("searchAttributes") for child in children)
    memo = children[0]["memo"]["fields"]["organisation_id"]
    organisation_id = json.loads(base64.b64decode(memo["data"]))
    # the Collection was started as today's starters start it: its organisation and that one's path
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    started["searchAttributes"] = {
        "indexedFields": {
            "OrganisationId": keyword(organisation_id),
            "OrganisationPath": keyword(f"/{organisation_id}/"),
        }
    }
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=data_converter(Settings(environment="test")),
        workflow_runner=workflow_runner(),  # the production runner
    )
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json("collection-with-path", json.dumps(history)), raise_on_replay_failure=False
    )
    assert result.replay_failure is None, f"{result.replay_failure}"
