"""Loading plug-ins: the factories installed packages publish under Multibill's entry-point groups.

Groups: ``multibill.gateways`` (payment gateways), ``multibill.provisioning`` (provisioning adapters) and
``multibill.notifiers`` (notification channels). Each entry point names a factory called with the
``Settings`` and returns the plug-in, or ``None`` when its own configuration says it is off (nothing is
registered). A factory that raises disables that one plug-in: the error is logged (entry point, package,
error) and kept as a ``DisabledPlugin`` for ``/healthz``; everything else still starts. Two plug-ins that
claim the same name are refused at start-up (``PluginNameTaken``, naming both packages).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

logger = logging.getLogger("multibill.plugins")

BUILT_IN = "multibill"  # the package name shown for what Multibill itself registers


@dataclass(frozen=True)
class DisabledPlugin:
    """A plug-in whose factory raised: where it came from and why it is off."""

    group: str
    entry_point: str
    package: str
    error: str

    def as_dict(self) -> dict[str, str]:
        return {
            "group": self.group,
            "entry_point": self.entry_point,
            "package": self.package,
            "error": self.error,
        }


@dataclass(frozen=True)
class LoadedPlugin:
    """What a factory built, and the entry point and package it came from."""

    value: Any
    entry_point: str
    package: str


class PluginNameTaken(RuntimeError):
    """Two plug-ins (or a plug-in and a built-in) claim the same name: refused at start-up."""

    def __init__(self, kind: str, name: str, first_package: str, second_package: str) -> None:
        super().__init__(
            f"the {kind} name {name!r} is claimed twice: by package {first_package!r} and by package "
            f"{second_package!r}; uninstall one of them or rename its {kind}"
        )
        self.name = name
        self.packages = (first_package, second_package)


def package_of(entry: metadata.EntryPoint) -> str:
    """The distribution that published the entry point (its project name)."""
    dist = entry.dist
    return dist.name if dist is not None else "unknown package"


def load_plugins(group: str, settings: Any, disabled: list[DisabledPlugin]) -> Iterator[LoadedPlugin]:
    """Build every plug-in of ``group``, in entry-point name order; failures go to ``disabled``."""
    for entry in sorted(metadata.entry_points(group=group), key=lambda e: (e.name, e.value)):
        package = package_of(entry)
        try:
            value = entry.load()(settings)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            logger.error(
                "plug-in disabled: entry point %r (%s) in group %s from package %r raised %s",
                entry.name,
                entry.value,
                group,
                package,
                error,
            )
            disabled.append(DisabledPlugin(group, entry.name, package, error))
            continue
        if value is None:
            logger.info("plug-in %r from package %r is off (its factory returned None)", entry.name, package)
            continue
        yield LoadedPlugin(value, entry.name, package)
