"""The state of installed plug-ins for the API: which ones a raising factory disabled (shown by /healthz).

The API builds its payment gateways at start-up (a name claimed twice stops it there, naming both
packages) and loads the provisioning, notifier and partner plug-ins once too, so a broken one is reported even
though only the worker uses them.
"""

from __future__ import annotations

from integrations.notify.base import NotifierRegistry
from integrations.partners.base import PartnerRegistry
from integrations.payments.base import GatewayRegistry
from integrations.provisioning.base import AdapterRegistry
from runtime.settings import Settings

__all__ = ["disabled_plugins"]


def disabled_plugins(settings: Settings, gateways: GatewayRegistry) -> list[dict[str, str]]:
    """Every disabled plug-in of the four groups: group, entry point, package and error."""
    adapters, notifiers, partners = AdapterRegistry(), NotifierRegistry(), PartnerRegistry()
    adapters.load_entry_points(settings)
    notifiers.load_entry_points(settings)
    partners.load_entry_points(settings)
    found = [*gateways.disabled, *adapters.disabled, *notifiers.disabled, *partners.disabled]
    return [plugin.as_dict() for plugin in found]
