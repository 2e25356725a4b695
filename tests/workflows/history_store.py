"""The stored workflow histories (``tests/workflows/histories/<workflow_type>_<scenario>.json``).

They are the compatibility baseline: ``test_replay.py`` replays every one against today's workflow code,
and fails when a workflow type the worker registers has none. They are written only on purpose, by
``python -m tests.workflows.record_histories`` (see that module), never by an ordinary test run, and an
existing file is never overwritten (an old history is what proves a ``workflow.patched`` branch).

``histories/MANIFEST.txt`` names every stored history: a listed file that is missing fails
``test_replay.py`` (a history is never dropped silently), and so does a file that is not listed (one is
added on purpose: ``store`` lists what it writes; add a history exported by hand to the list yourself).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from temporalio import workflow
from temporalio.client import WorkflowHistory

from runtime.worker import WORKFLOWS

HISTORIES = Path(__file__).parent / "histories"
MANIFEST = HISTORIES / "MANIFEST.txt"
MANIFEST_HEADER = (
    "# Every stored workflow history, one file name a line. test_replay.py fails when a listed file\n"
    "# is missing or a stored file is not listed. python -m tests.workflows.record_histories adds\n"
    "# what it writes.\n"
)
RECORD_COMMAND = "python -m tests.workflows.record_histories"
CLOSED = (
    "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW",  # a whole run of a process that never ends (a relay)
)


def type_name(cls: type) -> str:
    """The workflow type name Temporal knows ``cls`` by (``@workflow.defn(name=...)``)."""
    return workflow._Definition.must_from_class(cls).name


def registered_types() -> list[str]:
    """The workflow types the worker registers (runtime/worker.py ``WORKFLOWS``)."""
    return sorted(type_name(cls) for cls in WORKFLOWS)


def snake(name: str) -> str:
    """``OnDemandAccess`` -> ``on_demand_access``: the file name prefix of a type's histories."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def workflow_type_of(history_json: str) -> str:
    """The workflow type of an exported history (its first event starts the execution)."""
    first = json.loads(history_json)["events"][0]
    return str(first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])


def closed(history_json: str) -> bool:
    """Whether the history ends with the workflow completing, failing or continuing as new (a whole
    run, worth keeping)."""
    events = json.loads(history_json)["events"]
    return bool(events) and events[-1]["eventType"] in CLOSED


def stored_files() -> list[Path]:
    return sorted(HISTORIES.glob("*.json")) if HISTORIES.is_dir() else []


def manifest() -> list[str]:
    """The file names ``histories/MANIFEST.txt`` lists (every history that must be stored)."""
    if not MANIFEST.exists():
        return []
    lines = (line.strip() for line in MANIFEST.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def list_in_manifest(file_name: str) -> None:
    """Add ``file_name`` to ``histories/MANIFEST.txt`` (kept sorted) unless it is there."""
    names = sorted({*manifest(), file_name})
    MANIFEST.write_text(MANIFEST_HEADER + "".join(f"{name}\n" for name in names))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def store(name: str, history_json: str) -> Path | None:
    """Write ``histories/<name>.json`` unless it exists; the path written, or None when kept as it was."""
    path = HISTORIES / f"{name}.json"
    if path.exists():
        return None
    HISTORIES.mkdir(exist_ok=True)
    path.write_text(history_json + "\n")
    list_in_manifest(path.name)
    return path
