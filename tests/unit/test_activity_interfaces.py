"""The activity interfaces workflows call: every ``activities/<area>/io.py`` stays light (workflows import it
through the sandbox), and every activity it declares is implemented by the worker under the same name,
with the same argument and result types."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from temporalio import activity

import activities
from runtime.settings import Settings
from runtime.worker import activities_for

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "models", "integrations", "runtime")
IO_MODULES = sorted(
    f"activities.{package.name}.io"
    for package in pkgutil.iter_modules(activities.__path__)
    if package.ispkg and importlib.util.find_spec(f"activities.{package.name}.io") is not None
)


def _definition(fn: Callable[..., Any]) -> activity._Definition | None:
    return activity._Definition.from_callable(fn)


def interface_methods(module: ModuleType) -> list[tuple[type, str, Callable[..., Any]]]:
    """(interface class, method name, method) for each ``@activity.defn`` method of the module's classes."""
    found = []
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module.__name__:
            continue
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if _definition(fn) is not None:
                found.append((cls, name, fn))
    return found


@pytest.fixture(scope="module")
def registered() -> dict[str, Callable[..., Any]]:
    """The worker's activities by name (a database URL that nothing connects to: building them is offline)."""
    settings = Settings(
        environment="test", database_url="postgresql://nobody@127.0.0.1:1/none", temporal_address=None
    )
    by_name: dict[str, Callable[..., Any]] = {}
    for fn in activities_for(settings):
        definition = activity._Definition.must_from_callable(fn)
        assert definition.name not in by_name, f"activity {definition.name} is registered twice"
        by_name[definition.name] = fn
    return by_name


def test_the_areas_have_io_modules_with_interfaces() -> None:
    with_interfaces = [name for name in IO_MODULES if interface_methods(importlib.import_module(name))]
    assert len(with_interfaces) >= 5, IO_MODULES


@pytest.mark.parametrize("module", IO_MODULES)
def test_an_io_module_imports_nothing_with_io(module: str) -> None:
    """Not SQLAlchemy, models, integrations or runtime, not even through another module it imports."""
    probe = f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"{module} imports {done.stdout.strip()}"


@pytest.mark.parametrize("module", IO_MODULES)
def test_every_interface_activity_is_implemented_under_its_name(
    module: str, registered: dict[str, Callable[..., Any]]
) -> None:
    """Registered by ``runtime.worker.activities_for`` as a method of a subclass of the interface that
    overrides it, with the interface's name, argument types and result type (histories depend on them)."""
    for cls, name, fn in interface_methods(importlib.import_module(module)):
        declared = activity._Definition.must_from_callable(fn)
        where = f"{cls.__name__}.{name} ({declared.name})"
        assert declared.name in registered, f"{where} is not registered by the worker"
        implementation = registered[declared.name]
        assert isinstance(getattr(implementation, "__self__", None), cls), f"{where}: not a {cls.__name__}"
        assert getattr(implementation, "__func__", None) is not fn, f"{where} is not implemented"
        actual = activity._Definition.must_from_callable(implementation)
        assert (actual.arg_types, actual.ret_type) == (declared.arg_types, declared.ret_type), where
