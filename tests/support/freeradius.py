"""A real FreeRADIUS 3 for integration tests: installed if missing, configured in a temp dir, on free ports.

``ensure_installed()`` runs ``apt-get update`` and ``apt-get install -y freeradius freeradius-postgresql
freeradius-utils`` when the ``freeradius`` binary is missing (CI runs as root). ``start()`` copies
``/etc/freeradius/3.0`` to a temporary directory, listens on 127.0.0.1 auth/acct ports picked free,
removes ``inner-tunnel``, enables the ``sql`` module (dialect postgresql) pointing at the test
database, chowns the copy to ``freerad`` and runs ``freeradius -f -d DIR`` until the test session ends.

The embedded PostgreSQL listens only on a unix socket in a private directory: the sql module gets
``server = "<socket dir>"`` (libpq treats a leading ``/`` as a socket directory). The daemon drops to
the ``freerad`` user, so the socket directory and its parents must be traversable by it
(``_open_socket_dir`` adds o+x on each; the socket file itself is 0777 and trust auth is on).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from tests.support.eventually import eventually

PACKAGES = ("freeradius", "freeradius-postgresql", "freeradius-utils")
SOURCE = Path("/etc/freeradius/3.0")


def _say(message: str) -> None:
    print(f"[freeradius] {message}", file=sys.stderr, flush=True)


def ensure_installed() -> str:
    """The path of the ``freeradius`` binary, installing the Debian packages first when it is missing."""
    found = shutil.which("freeradius") or (
        "/usr/sbin/freeradius" if Path("/usr/sbin/freeradius").exists() else None
    )
    if found and SOURCE.exists() and Path("/usr/lib/freeradius/rlm_sql_postgresql.so").exists():
        return found
    if os.geteuid() != 0:
        raise RuntimeError(f"FreeRADIUS is missing and only root can install it: apt-get install {PACKAGES}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _say("not installed: apt-get update")
    subprocess.run(["apt-get", "update"], check=True, env=env)
    _say(f"apt-get install -y {' '.join(PACKAGES)}")
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES], check=True, env=env)
    # The package starts a system daemon on 1812/1813 (where systemd/invoke-rc.d runs); tests use their own.
    subprocess.run(["service", "freeradius", "stop"], check=False, capture_output=True)
    _say("installed")
    return shutil.which("freeradius") or "/usr/sbin/freeradius"


@dataclass(frozen=True)
class FreeRadius:
    host: str
    auth_port: int
    acct_port: int
    secret: str
    config_dir: Path
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rewrite_listen(site: str, ports: dict[str, int]) -> str:
    """IPv4 ``listen`` blocks on 127.0.0.1 and our ports; IPv6 ones dropped."""
    out: list[str] = []
    block: list[str] = []
    depth = 0
    for line in site.splitlines():
        code = line.split("#", 1)[0]
        if depth == 0 and re.match(r"^listen\s*\{", code):
            block, depth = [line], 1
            continue
        if depth:
            block.append(line)
            depth += code.count("{") - code.count("}")
            if depth == 0:
                out.extend(_listen_block(block, ports))
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _listen_block(block: list[str], ports: dict[str, int]) -> list[str]:
    text = "\n".join(block)
    if re.search(r"^\s*ipv6addr\s*=", text, re.M):
        return []
    kind = re.search(r"^\s*type\s*=\s*(\w+)", text, re.M)
    port = ports[kind.group(1) if kind else "auth"]
    text = re.sub(r"^(\s*)ipaddr\s*=.*$", r"\1ipaddr = 127.0.0.1", text, flags=re.M)
    text = re.sub(r"^(\s*)port\s*=.*$", rf"\1port = {port}", text, flags=re.M)
    return text.splitlines()


def _sql_module(database_url: str) -> str:
    url = sa.make_url(database_url)
    host = str(url.query.get("host") or url.host or "127.0.0.1")
    lines = [
        "sql {",
        '\tdialect = "postgresql"',
        '\tdriver = "rlm_sql_postgresql"',
        f'\tserver = "{host}"',
        f"\tport = {url.port or 5432}",
        f'\tlogin = "{url.username or "postgres"}"',
        f'\tpassword = "{url.password or ""}"',
        f'\tradius_db = "{url.database}"',
        '\tacct_table1 = "radacct"',
        '\tacct_table2 = "radacct"',
        '\tpostauth_table = "radpostauth"',
        '\tauthcheck_table = "radcheck"',
        '\tgroupcheck_table = "radgroupcheck"',
        '\tauthreply_table = "radreply"',
        '\tgroupreply_table = "radgroupreply"',
        '\tusergroup_table = "radusergroup"',
        "\tread_groups = yes",
        "\tdelete_stale_sessions = yes",
        "\tpool {\n\t\tstart = 1\n\t\tmin = 1\n\t\tmax = 4\n\t\tspare = 1\n\t\tuses = 0\n"
        "\t\tretry_delay = 1\n\t\tlifetime = 0\n\t\tidle_timeout = 60\n\t}",
        '\tclient_table = "nas"',
        '\tgroup_attribute = "SQL-Group"',
        "\t$INCLUDE ${modconfdir}/${.:name}/main/${dialect}/queries.conf",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _open_socket_dir(database_url: str) -> None:
    """Let the ``freerad`` user reach a unix socket: search permission (o+x) on the directory chain.

    PostgreSQL checks its data directory's mode only when it starts, so this does not disturb the
    running test server (the embedded server keeps its socket inside the data directory).
    """
    host = sa.make_url(database_url).query.get("host")
    if not host or not str(host).startswith("/"):
        return
    path = Path(str(host)).resolve()
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & 0o001:
            directory.chmod(mode | 0o001)


def configure(base: Path, database_url: str, secret: str) -> tuple[Path, int, int]:
    raddb = base / "raddb"
    shutil.copytree(SOURCE, raddb, symlinks=True)
    auth_port, acct_port = _free_udp_port(), _free_udp_port()
    (raddb / "sites-enabled" / "inner-tunnel").unlink(missing_ok=True)
    default = raddb / "sites-enabled" / "default"
    site = (raddb / "sites-available" / "default").read_text()
    default.unlink()
    default.write_text(_rewrite_listen(site, {"auth": auth_port, "acct": acct_port}))
    (raddb / "mods-enabled" / "sql").unlink(missing_ok=True)
    (raddb / "mods-enabled" / "sql").write_text(_sql_module(database_url))
    (raddb / "clients.conf").write_text(
        f"client localhost {{\n\tipaddr = 127.0.0.1\n\tsecret = {secret}\n\tnas_type = other\n}}\n"
    )
    conf = (raddb / "radiusd.conf").read_text()
    conf = re.sub(r"^(\s*)reject_delay\s*=.*$", r"\1reject_delay = 0", conf, flags=re.M)
    (raddb / "radiusd.conf").write_text(conf)
    base.chmod(0o755)
    subprocess.run(["chown", "-R", "freerad:freerad", str(raddb)], check=True)
    return raddb, auth_port, acct_port


def _wait_ready(process: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"freeradius exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        return "Ready to process requests" in log.read_text(errors="replace")

    eventually(
        ready, timeout=timeout, interval=0.1, what="freeradius ready", context=lambda: log.read_text()[-4000:]
    )


@contextmanager
def running_freeradius(database_url: str, secret: str) -> Iterator[FreeRadius]:
    binary = ensure_installed()
    base = Path(tempfile.mkdtemp(prefix="multibill-freeradius-"))
    raddb, auth_port, acct_port = configure(base, database_url, secret)
    _open_socket_dir(database_url)
    log = base / "radiusd.log"
    _say(f"starting {binary} -X -d {raddb} (auth {auth_port}, acct {acct_port}); log {log}")
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "-X", "-d", str(raddb)], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, log)
        _say("ready")
        yield FreeRadius("127.0.0.1", auth_port, acct_port, secret, raddb, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)
