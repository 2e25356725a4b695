"""Notification adapters (email now, SMS later) behind the small ``Notifier`` protocol."""

from __future__ import annotations

from integrations.notify.base import (
    EmailMessageSpec,
    MessageRejected,
    Notifier,
    NotifierUnavailable,
    NotifyError,
)

__all__ = ["EmailMessageSpec", "MessageRejected", "Notifier", "NotifierUnavailable", "NotifyError"]
