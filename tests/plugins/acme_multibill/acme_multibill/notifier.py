"""Acme chat as a notification channel: each notice becomes a chat message (kept in memory here)."""

from __future__ import annotations

import threading
from typing import Any

from integrations.notify.base import EmailMessageSpec

SENT: list[EmailMessageSpec] = []  # what Acme chat delivered, in order
_LOCK = threading.Lock()


class AcmeChatNotifier:
    """Sends notices through Acme chat; a repeated Message-ID is delivered once."""

    name = "acme-chat"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def send_email(self, message: EmailMessageSpec) -> None:
        with _LOCK:
            if all(sent.message_id != message.message_id for sent in SENT):
                SENT.append(message)
