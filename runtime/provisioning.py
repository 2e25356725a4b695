"""The provisioning adapters this deployment uses, built from settings (see integrations/provisioning)."""

from __future__ import annotations

from integrations.provisioning.base import AdapterRegistry
from runtime.settings import Settings


def build_registry(settings: Settings) -> AdapterRegistry:
    """Adapters per service kind. A kind with no adapter gets 'skipped' orders, visible to operators."""
    registry = AdapterRegistry()
    return registry
