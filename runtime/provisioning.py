"""The provisioning adapters this deployment uses, built from settings (see integrations/provisioning)."""

from __future__ import annotations

from integrations.provisioning.base import AdapterRegistry
from integrations.provisioning.mvno.adapter import MvnoAdapter, MvnoConfig
from integrations.provisioning.ott import OttAdapter, OttConfig
from integrations.provisioning.radius import RadiusAdapter, RadiusConfig
from integrations.provisioning.radius.dynauth import NasPeer
from integrations.provisioning.voip import KamailioAdapter, KamailioConfig
from runtime.settings import Settings


def build_registry(settings: Settings) -> AdapterRegistry:
    """Adapters per service kind. A kind with no adapter gets 'skipped' orders, visible to operators.

    FreeRADIUS when ``MULTIBILL_RADIUS_ENABLED`` (Disconnect-Messages when ``…_RADIUS_NAS_ADDRESS``),
    the OTT platform when ``MULTIBILL_OTT_BASE_URL``, Kamailio when ``MULTIBILL_VOIP_DOMAIN``, the MVNO
    host network when ``MULTIBILL_MVNO_BASE_URL``. No
    adapter opens a connection until its first order. Then every installed package's adapter published
    under the ``multibill.provisioning`` entry point (``factory(settings) -> adapter``).
    """
    registry = AdapterRegistry()
    password_secret = settings.provisioning_password_secret or settings.secret_key
    if settings.radius_enabled:
        url = settings.radius_database_url or settings.database_url
        if not url:
            raise RuntimeError("MULTIBILL_RADIUS_ENABLED needs MULTIBILL_RADIUS_DATABASE_URL or DATABASE_URL")
        nas = None
        if settings.radius_nas_address:
            nas = NasPeer.parse(
                settings.radius_nas_address, settings.radius_nas_secret, settings.radius_timeout_seconds
            )
        registry.register(RadiusAdapter(RadiusConfig(url, password_secret, nas)))
    if settings.ott_base_url:
        config = OttConfig(settings.ott_base_url, settings.ott_api_key, settings.ott_timeout_seconds)
        registry.register(OttAdapter(config))
    if settings.voip_domain:
        url = settings.voip_database_url or settings.database_url
        if not url:
            raise RuntimeError("MULTIBILL_VOIP_DOMAIN needs MULTIBILL_VOIP_DATABASE_URL or DATABASE_URL")
        registry.register(KamailioAdapter(KamailioConfig(url, settings.voip_domain, password_secret)))
    if settings.mvno_base_url:
        registry.register(
            MvnoAdapter(
                MvnoConfig(
                    settings.mvno_base_url,
                    settings.mvno_api_key,
                    settings.mvno_timeout_seconds,
                    settings.mvno_wait_seconds,
                    callback_url=mvno_callback_url(settings),
                )
            )
        )
    registry.load_entry_points(settings)
    return registry


def mvno_callback_url(settings: Settings) -> str | None:
    """Where the MVNO host calls back: the configured URL, else ours when a callback secret is set."""
    if settings.mvno_callback_url:
        return settings.mvno_callback_url
    if settings.mvno_callback_secret:
        return f"{settings.public_url.rstrip('/')}/v1/provisioning/callbacks/mvno"
    return None
