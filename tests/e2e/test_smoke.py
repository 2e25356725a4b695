"""`multibill up` end to end: embedded PostgreSQL and Temporal, worker and API, Ctrl-C, and a second run.

The stack runs as a subprocess exactly as `make run` starts it, with free ports and a temporary home,
and with DATABASE_URL / TEMPORAL_ADDRESS removed so that everything is embedded.
"""

from __future__ import annotations

import contextlib
import email
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.eventually import eventually
from tests.support.ports import free_port

pytestmark = pytest.mark.smoke

KEY_LINE = re.compile(r"API key: (mb_\S+)")
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0

NEW_ACCOUNT = {
    "type": "person",
    "given_name": "Ana",
    "family_name": "Ruiz",
    "email": "ana@example.com",
    "currency": "EUR",
    "timezone": "Europe/Madrid",
    "addresses": [
        {
            "kind": "billing",
            "line1": "Calle Mayor 1",
            "city": "Madrid",
            "postal_code": "28013",
            "country": "ES",
        }
    ],
}


def multibill_command() -> list[str]:
    script = Path(sys.executable).parent / "multibill"
    return [str(script)] if script.exists() else [sys.executable, "-m", "runtime.cli"]


class RunningStack:
    """`multibill up` in a subprocess; its output is collected line by line on a thread."""

    def __init__(self, home: Path, extra_env: dict[str, str] | None = None) -> None:
        self.home = home
        self.api_port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "TEMPORAL_ADDRESS", "MULTIBILL_SMTP_HOST"}
        }
        env.update(
            MULTIBILL_HOME=str(home),
            MULTIBILL_API_PORT=str(self.api_port),
            MULTIBILL_TEMPORAL_PORT=str(free_port()),
            MULTIBILL_TEMPORAL_UI_PORT=str(free_port()),
            MULTIBILL_SMTP_PORT=str(free_port()),
            MULTIBILL_ENVIRONMENT="development",
            COLUMNS="200",
        )
        env.update(extra_env or {})
        self.process = subprocess.Popen(
            [*multibill_command(), "up"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def wait_healthy(self) -> dict[str, object]:

        def health() -> httpx.Response:
            if self.process.poll() is not None:  # not retried: fails at once
                raise RuntimeError(f"`multibill up` exited early:\n{self.output}")
            return httpx.get(f"{self.base_url}/healthz", timeout=3)

        response = eventually(
            health,
            until=lambda r: r.status_code == 200,
            timeout=START_TIMEOUT,
            interval=0.5,
            retry_on=(httpx.HTTPError,),
            what="/healthz 200",
            context=lambda: self.output,
        )
        # /healthz can answer before `up` prints its ready table (the simulators' URLs are in it)
        eventually(
            lambda: "Press Ctrl-C to stop" in self.output,
            timeout=30,
            interval=0.2,
            what="the ready table of `multibill up`",
            context=lambda: self.output,
        )
        return dict(response.json())

    def api_key(self) -> str | None:
        found = [m.group(1) for line in self.lines if (m := KEY_LINE.search(line))]
        assert len(found) <= 1, self.output
        return found[0] if found else None

    def server_pids(self) -> list[int]:
        """The Temporal dev server and the postmaster of this home (they must not outlive the stack)."""
        pids = [pid for pid in _pids_with_cmdline(str(self.home)) if pid != self.process.pid]
        postmaster = self.home / "pg" / "postmaster.pid"
        if postmaster.exists():
            pids.append(int(postmaster.read_text().splitlines()[0]))
        return sorted(set(pids))

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"`multibill up` did not stop within {STOP_TIMEOUT:.0f}s:\n{self.output}"
            ) from None
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in _pids_with_cmdline(str(self.home)):
            _kill(pid)


def _pids_with_cmdline(fragment: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fragment in cmdline:
            pids.append(int(entry.name))
    return pids


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_all_gone(pids: list[int], output: str) -> None:
    eventually(
        lambda: [pid for pid in pids if _alive(pid)],
        until=lambda left: not left,
        timeout=10,
        interval=0.2,
        what="every process gone after stop",
        context=lambda: output,
    )


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / f"home-{uuid.uuid4().hex[:6]}"
    yield path
    for pid in _pids_with_cmdline(str(path)):
        _kill(pid)


def test_up_serves_the_api_stops_cleanly_and_keeps_data(home: Path) -> None:
    first = RunningStack(home)
    try:
        health = first.wait_healthy()
        assert health["status"] == "ok"
        assert "Bill cycle schedules" in first.output
        token = first.api_key()
        assert token is not None, f"no `API key: mb_…` line in the output:\n{first.output}"
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"{first.base_url}/v1/accounts",
            json=NEW_ACCOUNT,
            headers={**headers, "Idempotency-Key": f"smoke-{uuid.uuid4()}"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        account_id = created.json()["id"]
        assert account_id.startswith("acc_")
        process_id = verify_through_the_mail_sink(first, headers)
        servers = first.server_pids()
        children = _child_pids(first.process.pid)
        assert len(servers) >= 2, f"expected the Temporal dev server and PostgreSQL, found {servers}"
        assert first.interrupt() == 0, first.output
        assert_all_gone(servers + children, first.output)
    finally:
        first.kill()

    second = RunningStack(home, {"MULTIBILL_SIMULATORS": "all"})  # the peers' simulators this time
    try:
        second.wait_healthy()
        assert_simulators_serve_the_stack(second, headers)
        assert second.api_key() is None, second.output
        assert "already seeded" in second.output
        again = httpx.get(f"{second.base_url}/v1/accounts/{account_id}", headers=headers, timeout=10)
        assert again.status_code == 200, again.text
        assert again.json()["email"] == "ana@example.com"
        # Temporal kept its state in a file: the finished process is still there after a restart.
        process = httpx.get(f"{second.base_url}/v1/processes/{process_id}", headers=headers, timeout=10)
        assert process.status_code == 200 and process.json()["status"] == "completed", process.text
        servers = second.server_pids()
        assert second.interrupt() == 0, second.output
        assert_all_gone(servers, second.output)
    finally:
        second.kill()


def assert_simulators_serve_the_stack(stack: RunningStack, headers: dict[str, str]) -> None:
    """Every simulator started and is listed; the demo operator's Netflix connection points at the
    simulator, whose partner login takes the connection's credentials."""
    urls = {}
    for name in ("netflix", "mobile_money", "mvno", "sms"):
        found = re.search(rf"{name} simulator\s+(http://127\.0\.0\.1:\d+)", stack.output)
        assert found, f"no {name} simulator line in the output:\n{stack.output}"
        urls[name] = found.group(1)
    listed = httpx.get(f"{stack.base_url}/v1/partner-connections", headers=headers, timeout=10)
    assert listed.status_code == 200, listed.text
    netflix = [c for c in listed.json()["data"] if c["provider"] == "netflix"]
    assert [c["base_url"] for c in netflix] == [urls["netflix"]], listed.text
    login = httpx.post(
        f"{urls['netflix']}/v1/login",
        json={"partner_id": netflix[0]["partner_id"], "secret": "dev-simulator-secret"},
        timeout=10,
    )
    assert login.status_code == 200 and login.json()["access_token"], login.text
    assert "monthly statement schedules" in stack.output  # the demo operator's partner schedules


def verify_through_the_mail_sink(stack: RunningStack, headers: dict[str, str]) -> str:
    """Create an account with verify, read the email the dev mail sink saved, open its link."""
    body = {**NEW_ACCOUNT, "email": "eva@example.com", "given_name": "Eva", "verify": True}
    created = httpx.post(
        f"{stack.base_url}/v1/accounts",
        json=body,
        headers={**headers, "Idempotency-Key": f"smoke-{uuid.uuid4()}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    process_id = str(created.json()["process_id"])
    mails = eventually(
        lambda: sorted((stack.home / "mail").glob("*.eml")),
        timeout=30,
        interval=0.2,
        what=f"an email saved under {stack.home / 'mail'}",
        context=lambda: stack.output,
    )
    message = email.message_from_bytes(mails[0].read_bytes())
    assert message["To"].endswith("eva@example.com>") or message["To"] == "eva@example.com"
    text = "".join(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    link = re.search(r"(http://\S+/portal/verify/\S+)", text)
    assert link, text
    page = httpx.get(link.group(1), timeout=10)  # shows a button; opening the link confirms nothing
    assert page.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token, page.text
    pressed = httpx.post(link.group(1).split("?")[0], data={"token": token.group(1)}, timeout=10)
    assert pressed.status_code == 200, pressed.text
    status = eventually(
        lambda: httpx.get(f"{stack.base_url}/v1/processes/{process_id}", headers=headers, timeout=10).json(),
        until=lambda status: status.get("status") == "completed",
        timeout=30,
        interval=0.2,
        what=f"{process_id} completed",
    )
    assert status.get("step") == "verified", status
    return process_id


def _child_pids(parent: int) -> list[int]:
    """Direct children of ``parent`` (the worker, the API and the Temporal dev server)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().split(")")[-1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(entry.name))
    return children
