"""`multibill up`: PostgreSQL, migrations, Temporal, the demo operator, the worker and the API, one command.

Embedded servers are used unless DATABASE_URL / TEMPORAL_ADDRESS point elsewhere; their state is kept
under the home directory (``.multibill/`` by default), so a second run finds the same data. Ctrl-C or
SIGTERM stops every child (SIGTERM, then SIGKILL after a timeout) and then PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from runtime import servers, simulators
from runtime.codec import dev_stack_env, dev_stack_settings
from runtime.processes import Child, StackError, StateFile, require_free_port, spawn, stop, tail
from runtime.settings import Settings

API_START_TIMEOUT = 180.0  # the first start imports a lot: a busy 2-core machine has taken over 60 s
STOP_TIMEOUT = 10.0
NEW_KEY_HINT = "multibill seed --new-key"


def make_console() -> Console:
    """A console for humans; when piped (CI, tests) it is wide enough that the API key line never wraps."""
    if sys.stdout.isatty() or "COLUMNS" in os.environ:
        return Console()
    return Console(width=120)


@dataclass
class Stack:
    settings: Settings
    home: Path
    console: Console
    postgres: Any | None = None
    temporal: Child | None = None
    apps: list[Child] = field(default_factory=list)
    database_url: str = ""
    temporal_address: str = ""
    operator_id: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)  # settings pointing at started simulators
    simulator_urls: dict[str, str] = field(default_factory=dict)

    @property
    def children(self) -> list[Child]:
        return [*self.apps, *([self.temporal] if self.temporal else [])]

    @property
    def mail_dir(self) -> Path:
        return self.home / "mail"

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"


@contextmanager
def step(console: Console, title: str) -> Iterator[None]:
    """A spinner while the step runs, then a ✓ line with its duration (✗ when it fails)."""
    started = time.monotonic()
    try:
        with console.status(f"{title}…"):
            yield
    except BaseException:
        console.print(f"[red]✗[/] {title}")
        raise
    console.print(f"[green]✓[/] {title} [dim]({time.monotonic() - started:.1f}s)[/]")


def check_ports(settings: Settings) -> None:
    require_free_port(settings.api_host, settings.api_port, "API", "MULTIBILL_API_PORT", "--api-port")
    if not settings.temporal_address:
        require_free_port(
            "127.0.0.1", settings.temporal_port, "Temporal", "MULTIBILL_TEMPORAL_PORT", "--temporal-port"
        )
        require_free_port(
            "127.0.0.1", settings.temporal_ui_port, "Temporal UI", "MULTIBILL_TEMPORAL_UI_PORT", "--ui-port"
        )


def start_database(stack: Stack) -> None:
    where = "DATABASE_URL" if stack.settings.database_url else f"embedded, data in {stack.home / 'pg'}"
    with step(stack.console, f"PostgreSQL ({where})"):
        stack.database_url, stack.postgres = servers.open_database(stack.settings, stack.home)
    with step(stack.console, "Database migrations"):
        from models.migrate import upgrade

        upgrade(stack.database_url)


def start_temporal(stack: Stack) -> None:
    settings = stack.settings
    if settings.temporal_address:
        with step(stack.console, f"Temporal at {settings.temporal_address} (TEMPORAL_ADDRESS)"):
            servers.prepare_temporal(settings)
        stack.temporal_address = settings.temporal_address
        return
    with step(stack.console, f"Temporal dev server (state in {stack.home / 'temporal.db'})"):
        stack.temporal = servers.start_temporal_dev_server(settings, stack.home)
        stack.temporal_address = f"127.0.0.1:{settings.temporal_port}"
        servers.wait_for_temporal(stack.temporal, stack.temporal_address, settings.temporal_namespace)
        servers.prepare_temporal(settings.model_copy(update={"temporal_address": stack.temporal_address}))


def seed_demo(database_url: str) -> tuple[str, str, str | None]:
    """Seed the demo operator and its catalogue (what is missing of it): (organisation id, name, API key
    token or None when the operator already existed)."""
    from activities.accounts.organisations import seed_demo_operator
    from activities.identity.clients import seed_demo_app
    from models.base import unit_of_work
    from runtime.demo_catalogue import seed_demo_catalogue

    with unit_of_work(database_url) as session:
        org, token = seed_demo_operator(session)
        seed_demo_catalogue(session, org)
        seed_demo_app(session, org.id)  # the app's OAuth client (activities/identity/clients.py)
        return org.id, org.name, token


def show_key(
    console: Console, org_name: str, org_id: str, token: str, title: str = "Demo operator seeded"
) -> None:
    """The new API key, shown once; the `API key: mb_…` line never wraps so scripts can read it."""
    key_line = f"API key: {token}"
    note = "Shown only once — store it now. Send it as `Authorization: Bearer <key>`."
    fits = console.width >= len(key_line) + 4
    body = f"{org_name} ({org_id})\n" + (f"{key_line}\n" if fits else "") + note
    console.print(Panel.fit(body, title=title, border_style="green"), highlight=False)
    if not fits:
        console.print(key_line, soft_wrap=True, highlight=False)


def seed(stack: Stack) -> None:
    with step(stack.console, "Demo operator and catalogue"):
        org_id, org_name, token = seed_demo(stack.database_url)
        stack.operator_id = org_id
    if token:
        show_key(stack.console, org_name, org_id, token)
    else:
        stack.console.print(
            f"  [dim]{org_name} ({org_id}) was already seeded; its API key was shown on the first run.\n"
            f"  Mint a new key with[/] [bold]{NEW_KEY_HINT}[/]",
            highlight=False,
        )
    with step(stack.console, "Bill cycle schedules (one per cycle, 02:00 UTC) and events retention (daily)"):
        settings = stack.settings.model_copy(update={"temporal_address": stack.temporal_address})
        servers.schedule_billing(settings, org_id)


def child_env(stack: Stack) -> dict[str, str]:
    """The environment for the worker and the API: the same servers, ports and home as this stack."""
    settings = stack.settings
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": stack.database_url,
            "TEMPORAL_ADDRESS": stack.temporal_address,
            "MULTIBILL_HOME": str(stack.home),
            "MULTIBILL_API_HOST": settings.api_host,
            "MULTIBILL_API_PORT": str(settings.api_port),
            "MULTIBILL_TEMPORAL_PORT": str(settings.temporal_port),
            "MULTIBILL_TEMPORAL_UI_PORT": str(settings.temporal_ui_port),
            "MULTIBILL_SMTP_HOST": settings.smtp_host,
            "MULTIBILL_SMTP_PORT": str(settings.smtp_port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("MULTIBILL_PUBLIC_URL", stack.api_url)
    env.update(dev_stack_env(settings, stack.operator_id))  # payload key, codec endpoint for the dev UI
    env.update(stack.extra_env)
    env.setdefault("MULTIBILL_LOG_FORMAT", "console")  # readable logs on a laptop (runtime/logs.py)
    return env


def wants_mail_sink() -> bool:
    """Start the development mail sink unless a real SMTP server was configured."""
    return "MULTIBILL_SMTP_HOST" not in os.environ


def start_mail_sink(stack: Stack) -> None:
    settings = stack.settings
    if not wants_mail_sink():
        return
    require_free_port(
        settings.smtp_host, settings.smtp_port, "mail sink", "MULTIBILL_SMTP_PORT", "--smtp-port"
    )
    with step(
        stack.console, f"Mail sink on {settings.smtp_host}:{settings.smtp_port} (emails in {stack.mail_dir})"
    ):
        argv = [sys.executable, "-m", "runtime.cli", "mailsink", "--directory", str(stack.mail_dir)]
        stack.apps.append(spawn("mail", argv, stack.home / "logs" / "mail.log", child_env(stack)))


def start_simulators(stack: Stack) -> None:
    """The simulators asked for (--simulators / MULTIBILL_SIMULATORS), before the worker and the API that
    are pointed at them."""
    for name in simulators.requested(stack.settings.simulators):
        what = simulators.SIMULATORS[name].what
        with step(stack.console, f"Simulator: {what}"):
            child, url, env = simulators.start(name, stack.home / "logs", child_env(stack))
            stack.apps.append(child)
            stack.extra_env.update(env)
            stack.simulator_urls[name] = url
            if name == "netflix":
                simulators.connect_demo_operator_to_netflix(
                    stack.database_url, stack.operator_id, url, stack.settings.data_key
                )
                temporal = stack.settings.model_copy(update={"temporal_address": stack.temporal_address})
                servers.schedule_partner(temporal, stack.operator_id, "netflix")


def start_apps(stack: Stack) -> None:
    env = child_env(stack)
    logs = stack.home / "logs"
    start_mail_sink(stack)
    with step(stack.console, "Worker"):
        argv = [sys.executable, "-m", "runtime.cli", "worker"]
        stack.apps.append(spawn("worker", argv, logs / "worker.log", env))
    with step(stack.console, f"API on {stack.api_url}"):
        api = spawn("api", [sys.executable, "-m", "runtime.cli", "api"], logs / "api.log", env)
        stack.apps.append(api)
        wait_for_api(stack, api)


def wait_for_api(stack: Stack, api: Child) -> None:
    """Until /healthz answers at all (200 or 503); fail if the API or the worker exits meanwhile."""
    deadline = time.monotonic() + API_START_TIMEOUT
    while time.monotonic() < deadline:
        raise_if_died(stack.children)
        try:
            httpx.get(f"{stack.api_url}/healthz", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.25)
    raise StackError(
        f"The API did not answer on {stack.api_url} within {API_START_TIMEOUT:.0f}s; see {api.log_path}"
    )


def raise_if_died(children: list[Child]) -> None:
    for child in children:
        if not child.running():
            raise StackError(
                f"The {child.name} process exited unexpectedly (code {child.popen.returncode}). "
                f"Last lines of {child.log_path}:\n{tail(child.log_path)}"
            )


def show_ready(stack: Stack) -> None:
    table = Table(title="Multibill is running", title_justify="left", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("API docs", f"{stack.api_url}/docs")
    if stack.temporal is not None:
        table.add_row("Temporal UI", f"http://127.0.0.1:{stack.settings.temporal_ui_port}")
    else:
        table.add_row("Temporal", stack.temporal_address)
    table.add_row("Portal", f"{stack.api_url}/portal/")
    table.add_row("Database", servers.describe_url(stack.database_url))
    if wants_mail_sink():
        table.add_row("Emails (dev)", str(stack.mail_dir))
    for name, url in stack.simulator_urls.items():
        table.add_row(f"{name} simulator", url)
    for child in stack.children:
        table.add_row(f"{child.name} log", str(child.log_path))
    stack.console.print(table)
    stack.console.print("[dim]Press Ctrl-C to stop.[/]")


def watch(stack: Stack) -> None:
    """Block while every child runs; raise StackError naming the first one that dies."""
    while True:
        raise_if_died(stack.children)
        time.sleep(0.5)


def shutdown(stack: Stack) -> None:
    """Stop the API and worker, then Temporal, then PostgreSQL; signals are ignored meanwhile."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if stack.postgres is None and not stack.children:
        return
    with stack.console.status("Stopping…"):
        stop(stack.apps, timeout=STOP_TIMEOUT)
        if stack.temporal is not None:
            stop([stack.temporal], timeout=STOP_TIMEOUT)
        if stack.postgres is not None:
            servers.stop_embedded_postgres(stack.postgres)
            stack.postgres = None
    stack.console.print("[green]✓[/] Stopped")


def run_up(settings: Settings, console: Console | None = None) -> int:
    """Start the whole stack and block until Ctrl-C/SIGTERM (exit 0) or a failure (exit 1)."""
    console = console or make_console()
    home = servers.prepare_home(settings.home)
    settings = dev_stack_settings(settings, home)  # its own payload key, kept in the home
    stack = Stack(settings=settings.model_copy(update={"home": home}), home=home, console=console)
    state = StateFile(home / "stack.json")
    try:
        state.claim()
    except StackError as exc:
        console.print(f"[red bold]Error:[/] {exc}", highlight=False)
        return 1
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored (`cmd &` in a script)
        signal.signal(sig, signal.default_int_handler)
    code = 0
    try:
        check_ports(settings)
        start_database(stack)
        start_temporal(stack)
        state.write(stack.children)
        seed(stack)
        start_simulators(stack)
        start_apps(stack)
        state.write(stack.children)
        show_ready(stack)
        watch(stack)
    except KeyboardInterrupt:
        console.print()
    except StackError as exc:
        console.print(f"[red bold]Error:[/] {exc}", highlight=False)
        code = 1
    finally:
        shutdown(stack)
        state.clear()
    return code
