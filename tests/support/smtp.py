"""The test SMTP server (the ``smtp_server`` fixture): an aiosmtpd server on a free port that keeps every
message it receives, for tests of what the platform emails."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from tests.support.eventually import eventually_async
from tests.support.ports import free_port


@dataclass
class SmtpSink:
    """An aiosmtpd handler that keeps every message it receives."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in (m.get("To") or "")]

    async def wait_for(self, address: str, timeout: float = 10.0) -> Message:
        """The last message to ``address``, once there is one."""

        async def sent() -> list[Message]:
            return self.to(address)

        found = await eventually_async(sent, timeout=timeout, what=f"an email to {address}")
        return found[-1]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()
