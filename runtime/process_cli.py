"""`multibill processes`: find, show, replay and repair processes (Temporal workflows) from a terminal.

Talks to Temporal directly (TEMPORAL_ADDRESS, MULTIBILL_TEMPORAL_NAMESPACE, or --address/--namespace).
Every command prints tables, or JSON with --json. Exit codes: 0 done, 1 refused or failed (a replay
that found non-determinism), 2 cannot run (Temporal unreachable, a bad option). The logic is in
runtime/process_ops.py; docs/operations.md walks through incidents with these commands.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from temporalio.client import Client

from runtime import process_ops as ops
from runtime.settings import Settings, get_settings

T = TypeVar("T")

app = typer.Typer(
    help="Processes (Temporal workflows): list, show, replay histories, reset, retry, cancel.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
RunOption = Annotated[
    str | None, typer.Option("--run-id", help="A particular run (default: the latest run of the id).")
]
TypeOption = Annotated[
    str | None, typer.Option("--type", help="Workflow type or Process label (Onboarding, BillingCycle, …).")
]
StatusOption = Annotated[
    str | None,
    typer.Option(
        "--status",
        help="Running, Completed, Failed, Canceled, Terminated, TimedOut or ContinuedAsNew.",
    ),
]
OrganisationOption = Annotated[
    str | None,
    typer.Option(
        "--organisation",
        help="Organisation id (org_…), or a tree path (/org_…/org_…/): the processes of its subtree.",
    ),
]
AccountOption = Annotated[str | None, typer.Option("--account", help="Account id (acc_…).")]
SubscriptionOption = Annotated[str | None, typer.Option("--subscription", help="Subscription id (sub_…).")]
InvoiceOption = Annotated[str | None, typer.Option("--invoice", help="Invoice id (inv_…).")]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="Started since: 2026-11-30, 2026-11-30T08:00:00Z, or 90m, 6h, 2d, 1w ago."),
]


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@app.callback()
def processes(
    ctx: typer.Context,
    address: Annotated[
        str | None, typer.Option("--address", help="Temporal gRPC address (env TEMPORAL_ADDRESS).")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", help="Temporal namespace (env MULTIBILL_TEMPORAL_NAMESPACE).")
    ] = None,
) -> None:
    """Find and repair processes: `list`, `show ID`, `replay`, `reset ID`, `retry ID`, `cancel ID`.

    Talks to Temporal directly: TEMPORAL_ADDRESS (or --address) must point at its gRPC port.
    """
    given = {"temporal_address": address, "temporal_namespace": namespace}
    ctx.obj = get_settings().model_copy(update={k: v for k, v in given.items() if v is not None})


def _leave(code: int) -> NoReturn:
    """End the command with ``code``. Run as a program, exit without interpreter teardown: the Temporal
    core's threads can abort it (exit 134 instead of the code, one run in ten here; see ``exit_now`` in
    runtime/cli.py), and a CI job must see the real code. In-process (typer's CliRunner replaces
    stdout), an ordinary exit."""
    if sys.stdout is sys.__stdout__:
        from runtime.cli import exit_now

        exit_now(code)
    raise typer.Exit(code)


def _exits(command: Callable[..., None]) -> Callable[..., None]:
    """A command that ends through :func:`_leave`, whatever its exit code."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except typer.Exit as exit_:
            _leave(exit_.exit_code)
        _leave(0)

    return run


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``; a ProcessOpsError is printed (stderr) and becomes the exit code."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except ops.ProcessOpsError as err:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red bold]Error:[/] {err.message}")
        raise typer.Exit(err.code) from None


async def _with_client(settings: Settings, use: Callable[[Client], Awaitable[T]]) -> T:
    client = await ops.open_client(settings)
    return await use(client)


def _print_json(value: Any) -> None:
    def plain(item: Any) -> Any:
        return item.model_dump(mode="json") if isinstance(item, BaseModel) else item

    data = [plain(item) for item in value] if isinstance(value, list) else plain(value)
    typer.echo(json.dumps(data, indent=2))


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


STATUS_STYLE = {
    "Running": "cyan",
    "Completed": "green",
    "Failed": "red",
    "TimedOut": "red",
    "Terminated": "magenta",
    "Canceled": "yellow",
}


def _status(status: str) -> str:
    style = STATUS_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def _short(text: str | None, length: int = 160) -> str:
    if not text:
        return ""
    return text if len(text) <= length else text[: length - 1] + "…"


def _filters(**given: str | None) -> ops.Filters:
    return ops.Filters(**given)


@app.command("list")
@_exits
def list_command(
    ctx: typer.Context,
    kind: TypeOption = None,
    status: StatusOption = None,
    organisation: OrganisationOption = None,
    account: AccountOption = None,
    subscription: SubscriptionOption = None,
    invoice: InvoiceOption = None,
    since: SinceOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List processes, newest first, filtered by type, status, the ids they concern, start time."""
    filters = _filters(
        type=kind,
        status=status,
        organisation=organisation,
        account=account,
        subscription=subscription,
        invoice=invoice,
        since=since,
    )
    rows = _run(lambda: _with_client(_settings(ctx), lambda c: ops.list_processes(c, filters, limit)))
    if as_json:
        _print_json(rows)
        return
    console = _console()
    if not rows:
        console.print("No process matches (visibility can lag a second or two behind a start).")
        return
    table = Table(title=f"{len(rows)} process(es)", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("type", min_width=10)
    table.add_column("status", min_width=9)
    table.add_column("started (UTC)", min_width=10)
    table.add_column("concerns", overflow="fold")
    for row in rows:
        kind = row.type if not row.process or row.process == row.type else f"{row.type} ({row.process})"
        table.add_row(
            row.id,
            kind,
            _status(row.status),
            _time(row.started_at),
            row.invoice_id or row.subscription_id or row.account_id or row.organisation_id or "",
        )
    console.print(table)


@app.command("show")
@_exits
def show_command(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(metavar="ID", help="The process (workflow) id.")],
    run_id: RunOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a process: status, summary, its steps from the history, pending activities and failures."""
    detail = _run(lambda: _with_client(_settings(ctx), lambda c: ops.show_process(c, workflow_id, run_id)))
    if as_json:
        _print_json(detail)
        return
    console = _console()
    row = detail.row
    console.print(f"[bold]{row.id}[/]  {row.type}  {_status(row.status)}")
    if detail.summary:
        console.print(f"  {detail.summary}")
    labels = [
        f"{name} {value}"
        for name, value in (
            ("organisation", row.organisation_id),
            ("account", row.account_id),
            ("subscription", row.subscription_id),
            ("invoice", row.invoice_id),
            ("parent", row.parent_id),
        )
        if value
    ]
    console.print(f"  run {row.run_id} · task queue {detail.task_queue} · {detail.history_length} events")
    console.print(
        f"  started {_time(row.started_at)} UTC"
        + (f" · closed {_time(row.closed_at)} UTC" if row.closed_at else "")
    )
    if labels:
        console.print("  " + " · ".join(labels))
    if detail.details:
        console.print(f"  {detail.details}")
    if detail.result_or_failure:
        colour = "red" if row.status in ("Failed", "TimedOut", "Terminated") else "green"
        console.print(f"  [{colour}]{row.status.lower()}:[/] {detail.result_or_failure}")

    steps = Table(title="Steps", title_justify="left")
    for column in ("event", "at (UTC)", "step", "outcome", "attempt", "detail"):
        steps.add_column(column, overflow="fold")
    closing = detail.steps[-1] if detail.result_or_failure else None  # its detail is printed above
    for step in detail.steps:
        outcome = step.outcome
        if outcome in ("failed", "timed out", "terminated"):
            outcome = f"[red]{outcome}[/]"
        elif outcome == "retrying":
            outcome = f"[yellow]{outcome}[/]"
        steps.add_row(
            str(step.event_id),
            _time(step.at),
            f"{step.kind}: {step.name}" if step.kind != "process" else step.name,
            outcome,
            str(step.attempt or ""),
            "" if step is closing else _short(step.detail),
        )
    console.print(steps)
    if detail.pending_activities:
        pending = Table(title="Pending activities", title_justify="left")
        for column in ("activity", "state", "attempt", "last failure", "next attempt (UTC)"):
            pending.add_column(column, overflow="fold")
        for activity in detail.pending_activities:
            of = f"/{activity.maximum_attempts}" if activity.maximum_attempts else " (no limit)"
            pending.add_row(
                activity.name,
                activity.state,
                f"{activity.attempt}{of}",
                activity.last_failure or "",
                _time(activity.next_attempt_at),
            )
        console.print(pending)
    for child in detail.pending_children:
        console.print(f"  waiting on child {child.type} {child.workflow_id}")
    if row.status == "Failed":
        console.print(
            f"Next: fix the cause, then `multibill processes reset {row.id} --reason '…'` (resume from the "
            f"last good step) or `multibill processes retry {row.id}` (start again from the beginning)."
        )


@app.command("replay")
@_exits
def replay_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Folders or files of JSON histories (default tests/workflows/histories)."),
    ] = None,
    live: Annotated[
        bool,
        typer.Option("--live", help="Replay histories fetched from the server (the list filters apply)."),
    ] = False,
    workflows: Annotated[
        str,
        typer.Option("--workflows", help="module:attribute of the workflow classes to replay against."),
    ] = ops.DEFAULT_WORKFLOWS,
    kind: TypeOption = None,
    status: StatusOption = None,
    organisation: OrganisationOption = None,
    account: AccountOption = None,
    subscription: SubscriptionOption = None,
    invoice: InvoiceOption = None,
    since: SinceOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="With --live: at most this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Replay histories against the CURRENT code's workflows (the worker's list) and report every
    non-determinism with the workflow id. Exit 1 if any fails: run it in CI before a deploy.
    """
    classes_or_error: list[type] = []

    async def work() -> ops.ReplayReport:
        classes_or_error.extend(ops.load_workflows(workflows))
        if live:
            if paths:
                raise ops.ProcessOpsError("give history paths or --live, not both", ops.CANNOT_RUN)
            filters = _filters(
                type=kind,
                status=status,
                organisation=organisation,
                account=account,
                subscription=subscription,
                invoice=invoice,
                since=since,
            )
            client = await ops.open_client(_settings(ctx))
            loaded = await ops.live_histories(client, filters, limit)
            converter = client.data_converter
        else:
            loaded = ops.stored_histories(paths or [ops.DEFAULT_HISTORIES])
            converter = ops.default_data_converter(_settings(ctx))
        if not loaded:
            where = (
                "on the server for these filters"
                if live
                else f"in {', '.join(map(str, paths or [ops.DEFAULT_HISTORIES]))}"
            )
            raise ops.ProcessOpsError(f"no history to replay {where}", ops.CANNOT_RUN)
        return await ops.replay(loaded, classes_or_error, converter, workflows)

    report = _run(work)
    if as_json:
        _print_json(report)
    else:
        console = _console()
        if report.failed:
            console.print("[bold]Histories that no longer replay[/]")
            for failure in report.failed:
                console.print(
                    f"[red]FAIL[/] {failure.workflow_id}  {failure.type or '?'}  ({failure.source})"
                )
                console.print(f"     {failure.error}", soft_wrap=True)
            console.print(
                f"[red bold]{len(report.failed)} of {report.replayed} histories failed to replay[/] against "
                f"{report.workflows_from}: put the change behind workflow.patched(…) before deploying."
            )
        else:
            console.print(
                f"[green]All {report.replayed} histories replay[/] against {report.workflows_from}."
            )
    if report.failed:
        raise typer.Exit(ops.FAILED)


@app.command("reset")
@_exits
def reset_command(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(metavar="ID", help="The process (workflow) id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the history, with your name).")],
    event_id: Annotated[
        int | None,
        typer.Option(
            "--event-id", help="Reset to this WorkflowTaskCompleted event instead of the last good step."
        ),
    ] = None,
    run_id: RunOption = None,
    as_json: JsonOption = False,
) -> None:
    """After a fix, reset a failed or stuck process to its last good step (the last completed workflow
    task before the failure), or to --event-id N. The process continues from there in a new run.
    """
    result = _run(
        lambda: _with_client(
            _settings(ctx), lambda c: ops.reset_process(c, workflow_id, reason, event_id, run_id)
        )
    )
    if as_json:
        _print_json(result)
        return
    console = _console()
    console.print(
        f"[green]Reset[/] {result.workflow_id} to event {result.event_id}: new run {result.new_run_id}"
    )
    console.print(f"  {result.why}")
    console.print(f"  previous run {result.old_run_id}; reason recorded: {result.reason}")
    console.print(f"  Follow it with `multibill processes show {result.workflow_id}`.")


@app.command("retry")
@_exits
def retry_command(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(metavar="ID", help="The process (workflow) id.")],
    new_id: Annotated[
        str | None, typer.Option("--new-id", help="Start it under this id instead of its own (a new run).")
    ] = None,
    run_id: RunOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a failed process again from the beginning with its original input and labels.

    Refuses a running or completed one. The new run keeps the id (so the API finds it) unless --new-id.
    """
    result = _run(
        lambda: _with_client(_settings(ctx), lambda c: ops.retry_process(c, workflow_id, new_id, run_id))
    )
    if as_json:
        _print_json(result)
        return
    console = _console()
    console.print(
        f"[green]Started again:[/] {result.type} {result.workflow_id}, run {result.run_id} "
        f"(the {result.previous_status.lower()} run was {result.previous_run_id})."
    )
    console.print(f"  Follow it with `multibill processes show {result.workflow_id}`.")


@app.command("cancel")
@_exits
def cancel_command(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(metavar="ID", help="The process (workflow) id.")],
    terminate: Annotated[
        bool, typer.Option("--terminate", help="Hard stop now, without the process's own clean-up.")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required with --terminate).")] = None,
    run_id: RunOption = None,
    as_json: JsonOption = False,
) -> None:
    """Request cancellation of a running process (it runs its own clean-up), or --terminate it."""
    result = _run(
        lambda: _with_client(
            _settings(ctx), lambda c: ops.cancel_process(c, workflow_id, terminate, reason, run_id)
        )
    )
    if as_json:
        _print_json(result)
        return
    console = _console()
    console.print(f"[yellow]{result.action.capitalize()}[/]: {result.workflow_id} (run {result.run_id})")
    if result.reason:
        console.print(f"  reason recorded: {result.reason}")
