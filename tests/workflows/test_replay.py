"""Replay every stored history with today's workflow code: an incompatible change fails here.

The histories (``histories/<workflow_type>_<scenario>.json``) are recorded on purpose from the scenario
tests by ``python -m tests.workflows.record_histories`` and committed; this test never records one. Every
workflow type the worker registers must have at least one, and every history ``histories/MANIFEST.txt``
lists must be there (a missing file fails, it is never recorded again silently). Old histories stay: they
prove that the branches behind ``workflow.patched`` still replay. Histories exported from the Temporal UI
or CLI (``temporal workflow show -o json``) can be added to the folder too, and to the manifest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from runtime.codec import data_converter
from runtime.sandbox import workflow_runner
from runtime.settings import Settings
from runtime.worker import WORKFLOWS
from tests.workflows.history_store import (
    HISTORIES,
    MANIFEST,
    RECORD_COMMAND,
    load,
    manifest,
    registered_types,
    snake,
    stored_files,
    workflow_type_of,
)

HOW_TO_RECORD = f"record them with `{RECORD_COMMAND}` and commit the new files in {HISTORIES}"


def test_every_registered_workflow_type_has_a_stored_history() -> None:
    files = stored_files()
    assert files, f"no stored histories in {HISTORIES}: {HOW_TO_RECORD}"
    have = {workflow_type_of(path.read_text()) for path in files}
    missing = [name for name in registered_types() if name not in have]
    assert not missing, f"workflow types without a stored history: {', '.join(missing)}; {HOW_TO_RECORD}"


def test_no_listed_history_is_missing() -> None:
    listed = manifest()
    assert listed, f"{MANIFEST} lists no history"
    missing = [name for name in listed if not (HISTORIES / name).is_file()]
    assert not missing, (
        f"stored histories missing from {HISTORIES}: {', '.join(missing)}; restore them (git checkout), "
        "a history is never dropped: it proves that old runs still replay"
    )


def test_every_stored_history_is_listed() -> None:
    listed = set(manifest())
    unlisted = [path.name for path in stored_files() if path.name not in listed]
    assert not unlisted, (
        f"histories not in {MANIFEST}: {', '.join(unlisted)}; {HOW_TO_RECORD} (it lists what it writes), "
        "or add a history exported by hand to the manifest"
    )


def test_history_files_are_named_after_their_workflow_type() -> None:
    misnamed = [
        path.name
        for path in stored_files()
        if not path.stem.startswith(snake(workflow_type_of(path.read_text())) + "_")
    ]
    assert not misnamed, f"name histories <workflow_type>_<scenario>.json: {misnamed}"


async def test_every_stored_history_replays_with_the_current_code() -> None:
    histories = [load(path) for path in stored_files()]
    assert histories, f"no stored histories in {HISTORIES}: {HOW_TO_RECORD}"

    async def iterate() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    # The worker's converter, payload codec included: histories recorded in clear still replay through it.
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=data_converter(Settings(environment="test")),
        workflow_runner=workflow_runner(),  # the production runner
    )
    results = await replayer.replay_workflows(iterate(), raise_on_replay_failure=False)
    names = {history.run_id: history.workflow_id for history in histories}  # workflow_id: the file name
    failures = {names.get(run, run): f"{err}" for run, err in results.replay_failures.items()}
    assert failures == {}, "stored histories no longer replay (put the change behind workflow.patched)"
