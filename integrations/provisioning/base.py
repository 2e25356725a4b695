"""The contract between Multibill and provisioning systems (RADIUS, CAS/OTT, VoIP, …).

An adapter serves one or more service kinds (``broadband``, ``video``, ``telephony``…). The
provisioning activity records every order in the database and calls ``execute`` with an idempotency
key, so an adapter must treat a repeated key as the same order (and answer with the same result).
Adapters import nothing from ``models``: all they need is in the request.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from domain.provisioning import ProvisioningAction
from integrations.plugins import BUILT_IN, DisabledPlugin, PluginNameTaken, load_plugins


class ProvisioningRequest(BaseModel):
    order_id: str
    idempotency_key: str
    action: ProvisioningAction
    service_kind: str
    account_id: str
    subscription_id: str
    service_id: str
    plan_code: str
    characteristics: dict[str, Any] = Field(
        default_factory=dict, description="product attributes, e.g. speed"
    )
    expires_at: str | None = Field(default=None, description="ISO instant for on-demand access")
    device: dict[str, Any] | None = None
    rerun: bool = Field(
        default=False, description="an operator's re-run of a failed order (a platform may send it anew)"
    )


class ProvisioningResult(BaseModel):
    status: Literal["done", "failed"]
    reference: str | None = Field(default=None, description="the platform's own id for the order or account")
    detail: str = ""
    retryable: bool = Field(default=True, description="False when retrying cannot help (bad data)")


class ServiceState(BaseModel):
    """What a platform reports for one service, for resync."""

    service_id: str
    active: bool
    suspended: bool = False
    profile: str | None = None


class ProvisioningAdapter(Protocol):
    name: str
    kinds: frozenset[str]

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        """Carry out the order; the same ``idempotency_key`` twice is one order."""
        ...


@runtime_checkable
class StateLister(Protocol):
    """An adapter that can report what its platform holds, for resync (optional)."""

    def list_state(self) -> list[ServiceState]:
        """Every service the platform knows, as it stands there now."""
        ...


class AdapterRegistry:
    """Which adapters serve which service kind (several may, e.g. RADIUS and a CPE manager).

    Third-party packages add adapters through the ``multibill.provisioning`` entry point (a factory taking
    the settings, returning an adapter or None). An adapter name is taken once: a second one is refused
    with ``PluginNameTaken`` naming both packages; a factory that raises is listed in ``disabled``."""

    ENTRY_POINT_GROUP = "multibill.provisioning"

    def __init__(self) -> None:
        self._by_kind: dict[str, list[ProvisioningAdapter]] = {}
        self._packages: dict[str, str] = {}
        self.disabled: list[DisabledPlugin] = []

    def register(self, adapter: ProvisioningAdapter, *, package: str = BUILT_IN) -> None:
        if adapter.name in self._packages:
            raise PluginNameTaken("provisioning adapter", adapter.name, self._packages[adapter.name], package)
        self._packages[adapter.name] = package
        for kind in adapter.kinds:
            self._by_kind.setdefault(kind, []).append(adapter)

    def load_entry_points(self, settings: Any) -> None:
        """Register the adapters installed packages publish (``factory(settings)``)."""
        for plugin in load_plugins(self.ENTRY_POINT_GROUP, settings, self.disabled):
            self.register(plugin.value, package=plugin.package)

    def for_kind(self, kind: str) -> list[ProvisioningAdapter]:
        return list(self._by_kind.get(kind, []))

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)
