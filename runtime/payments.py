"""The payment gateways this deployment uses, built from settings (see integrations/payments/base.py)."""

from __future__ import annotations

from activities.payments.mobile_money import mobile_money_gateway
from activities.wallets.gateway_records import prepaid_gateways
from integrations.payments.base import GatewayRegistry
from integrations.payments.cash import CashGateway
from integrations.payments.stripe_gateway import StripeConfig, StripeGateway
from runtime.settings import Settings

__all__ = ["GatewayRegistry", "build_gateways"]


def build_gateways(settings: Settings) -> GatewayRegistry:
    """Cash always; Stripe when ``MULTIBILL_STRIPE_API_KEY`` is set; mobile money when
    ``MULTIBILL_MOBILE_MONEY_BASE_URL`` is; then every installed package's
    gateway published under the ``multibill.gateways`` entry point (``factory(settings) -> gateway``).
    No gateway opens a connection until its first call."""
    registry = GatewayRegistry()
    registry.register(CashGateway())
    if settings.stripe_api_key:
        config = StripeConfig(
            api_key=settings.stripe_api_key,
            api_base=settings.stripe_api_base,
            timeout_seconds=settings.stripe_timeout_seconds,
        )
        registry.register(StripeGateway(config))
    if settings.database_url:
        for gateway in prepaid_gateways(settings):  # wallet, voucher, SEPA: backed by our database
            registry.register(gateway)
    momo = mobile_money_gateway(settings)
    if momo is not None:
        registry.register(momo)
    registry.load_entry_points(settings)
    return registry
