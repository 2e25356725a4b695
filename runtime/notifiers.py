"""The notification channels this deployment has: SMTP always, then every installed package's channel
published under the ``multibill.notifiers`` entry point. ``MULTIBILL_NOTIFIER`` chooses the one notices
go through."""

from __future__ import annotations

import ssl

from integrations.notify.base import Notifier, NotifierRegistry
from integrations.notify.smtp import SmtpNotifier
from runtime.settings import Settings

__all__ = ["NotifierRegistry", "build_notifiers", "chosen_notifier", "smtp_notifier"]


def build_notifiers(settings: Settings) -> NotifierRegistry:
    registry = NotifierRegistry()
    registry.register("smtp", smtp_notifier(settings))
    registry.load_entry_points(settings)
    return registry


def smtp_notifier(settings: Settings) -> SmtpNotifier:
    """SMTP as configured: plain to a local relay, or submission with STARTTLS (verified against the
    system's CAs or ``MULTIBILL_SMTP_TLS_CA_FILE``) and a login."""
    context = None
    if settings.smtp_tls_ca_file is not None:
        context = ssl.create_default_context(cafile=str(settings.smtp_tls_ca_file))
    return SmtpNotifier(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_sender,
        timeout=settings.smtp_timeout_seconds,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password,
        tls_context=context,
    )


def chosen_notifier(settings: Settings, registry: NotifierRegistry) -> Notifier:
    """The channel ``settings.notifier`` names; SMTP when that channel's plug-in is disabled or missing
    (logged by the loader), so notices still go out."""
    try:
        return registry.get(settings.notifier)
    except LookupError:
        return registry.get("smtp")
