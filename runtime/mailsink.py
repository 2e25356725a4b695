"""A development mail sink: an SMTP server (aiosmtpd) that saves every message as a .eml file.

`multibill up` starts it unless MULTIBILL_SMTP_HOST points at a real mail server, so the emails the
platform sends (account verification, notices) can be read under ``.multibill/mail/``.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any


class SaveToFolder:
    """aiosmtpd handler: one file per message, named by time and sequence; a line per message on stdout."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{self.count:05d}.eml"
        path.write_bytes(envelope.content)
        message = message_from_bytes(envelope.content)
        print(f"mail to {', '.join(envelope.rcpt_tos)}: {message.get('Subject', '')} → {path}", flush=True)
        return "250 Message accepted for delivery"


def serve(host: str, port: int, directory: Path) -> None:
    """Run until SIGINT or SIGTERM."""
    from aiosmtpd.controller import Controller

    controller = Controller(SaveToFolder(directory), hostname=host, port=port)
    controller.start()
    print(f"mail sink on {host}:{port}, saving to {directory}", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()
