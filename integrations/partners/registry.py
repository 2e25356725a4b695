"""The partner providers a deployment knows: the built-ins (Netflix, pulled; SportStream, pushed), then
every installed package's provider published under the ``multibill.partners`` entry point
(``factory(settings) -> provider or None``; a raising factory is disabled and reported on /healthz)."""

from __future__ import annotations

from typing import Any

from integrations.partners.base import PartnerRegistry
from integrations.partners.netflix.provider import NetflixProvider
from integrations.partners.sportstream.provider import SportStreamProvider


def build_partner_registry(settings: Any) -> PartnerRegistry:
    registry = PartnerRegistry()
    registry.register(NetflixProvider())
    registry.register(SportStreamProvider())
    registry.load_entry_points(settings)
    return registry
