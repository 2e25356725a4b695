"""The outside peers' simulators `multibill up` can start beside the stack (off unless asked for):
``multibill up --simulators netflix,mobile_money,mvno,sms`` or ``MULTIBILL_SIMULATORS=...``.

Each runs as a child process on a free local port with development credentials, and the worker and the API
are pointed at it through the same settings a real peer would use (``MULTIBILL_MOBILE_MONEY_BASE_URL``,
``MULTIBILL_MVNO_BASE_URL``, ``MULTIBILL_SMS_URL``…). Netflix is a per-operator connection rather than a
setting: the demo operator gets (or has its existing one pointed at) a connection to the simulator.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from runtime.processes import Child, StackError, spawn

NETFLIX_PARTNER_ID = "multibill-demo"
DEV_SECRET = "dev-simulator-secret"  # noqa: S105 (local simulators only, never a real peer)


@dataclass(frozen=True)
class Simulator:
    module: str
    args: Callable[[int], list[str]]
    env: Callable[[str], dict[str, str]]
    what: str


SIMULATORS: dict[str, Simulator] = {
    "netflix": Simulator(
        "integrations.partners.netflix.simulator",
        lambda port: ["--port", str(port), "--partner-id", NETFLIX_PARTNER_ID, "--secret", DEV_SECRET],
        lambda url: {},
        "Netflix partner billing (a connection of the demo operator, hourly charge acceptance and "
        "monthly statement schedules)",
    ),
    "mobile_money": Simulator(
        "integrations.payments.mobile_money.simulator",
        lambda port: [
            "--port",
            str(port),
            "--consumer-key",
            "dev-momo",
            "--consumer-secret",
            DEV_SECRET,
            "--callback-secret",
            DEV_SECRET,
        ],
        lambda url: {
            "MULTIBILL_MOBILE_MONEY_BASE_URL": url,
            "MULTIBILL_MOBILE_MONEY_CONSUMER_KEY": "dev-momo",
            "MULTIBILL_MOBILE_MONEY_CONSUMER_SECRET": DEV_SECRET,
            "MULTIBILL_MOBILE_MONEY_CALLBACK_SECRET": DEV_SECRET,
        },
        "mobile money push payments",
    ),
    "mvno": Simulator(
        "integrations.provisioning.mvno.simulator",
        lambda port: ["--port", str(port), "--api-key", DEV_SECRET, "--callback-secret", DEV_SECRET],
        lambda url: {
            "MULTIBILL_MVNO_BASE_URL": url,
            "MULTIBILL_MVNO_API_KEY": DEV_SECRET,
            "MULTIBILL_MVNO_CALLBACK_SECRET": DEV_SECRET,  # outcomes called back to the API
        },
        "MVNO host network provisioning",
    ),
    "sms": Simulator(
        "integrations.notify.sms.simulator",
        lambda port: ["--port", str(port)],
        lambda url: {"MULTIBILL_SMS_URL": url},
        "SMS gateway",
    ),
}


def requested(value: str) -> list[str]:
    """The simulator names in ``value`` (comma separated; ``all`` for every one), checked."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    if names == ["all"]:
        return list(SIMULATORS)
    unknown = [n for n in names if n not in SIMULATORS]
    if unknown:
        raise StackError(
            f"unknown simulator(s) {', '.join(unknown)} in --simulators / MULTIBILL_SIMULATORS; "
            f"choose from {', '.join(SIMULATORS)} or all"
        )
    return names


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, logs: Path, env: dict[str, str]) -> tuple[Child, str, dict[str, str]]:
    """Start one simulator; (its child, its base URL, the settings that point the stack at it)."""
    sim = SIMULATORS[name]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", sim.module, *sim.args(port)]
    child = spawn(f"{name} simulator", argv, logs / f"simulator-{name}.log", env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not child.running():
            raise StackError(f"the {name} simulator exited at start; see {child.log_path}")
        try:
            httpx.get(url, timeout=1)
            return child, url, sim.env(url)
        except httpx.HTTPError:
            time.sleep(0.2)
    raise StackError(f"the {name} simulator did not answer on {url} within 30 s; see {child.log_path}")


def connect_demo_operator_to_netflix(database_url: str, operator_id: str, url: str, data_key: str) -> str:
    """The demo operator's Netflix connection, created or pointed at the simulator's new port; its id."""
    from activities.partners.connections import ensure_connection
    from models.base import unit_of_work

    with unit_of_work(database_url) as session:
        row = ensure_connection(
            session, operator_id, "netflix", url, NETFLIX_PARTNER_ID, DEV_SECRET, data_key
        )
        session.commit()
        return row.id
