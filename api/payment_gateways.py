"""The API's payment gateway registry: built once per app from its settings (tests may set their own)."""

from __future__ import annotations

from fastapi import Request

from runtime.payments import GatewayRegistry, build_gateways


def gateways_for(request: Request) -> GatewayRegistry:
    state = request.app.state
    registry: GatewayRegistry | None = getattr(state, "payment_gateways", None)
    if registry is None:
        registry = build_gateways(state.settings)
        state.payment_gateways = registry
    return registry
