from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from integrations.notify import smtp as smtp_module
from integrations.notify.base import EmailMessageSpec, MessageRejected, NotifierUnavailable
from integrations.notify.smtp import SmtpNotifier
from tests.support.ports import free_port
from tests.support.smtp import SmtpSink

SENDER = "Multibill <no-reply@multibill.local>"


def spec(to: str, **extra: str) -> EmailMessageSpec:
    return EmailMessageSpec.model_validate(
        {
            "to": to,
            "subject": "Prueba de envío",
            "text": "Hola, ¿qué tal?\n",
            "message_id": "<m-1@multibill.local>",
        }
        | extra
    )


def test_sends_plain_email_to_a_real_smtp_server(smtp_server: SmtpSink) -> None:
    notifier = SmtpNotifier(host=smtp_server.host, port=smtp_server.port, sender=SENDER, timeout=5)
    notifier.send_email(spec("plain.notify@example.com"))

    [received] = smtp_server.to("plain.notify@example.com")
    assert received["From"] == SENDER
    assert received["Message-ID"] == "<m-1@multibill.local>"
    body = received.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert body.decode(received.get_content_charset() or "utf-8").splitlines() == ["Hola, ¿qué tal?"]


def test_sends_html_alternative(smtp_server: SmtpSink) -> None:
    notifier = SmtpNotifier(host=smtp_server.host, port=smtp_server.port, sender=SENDER, timeout=5)
    notifier.send_email(spec("html.notify@example.com", html="<p>Hola</p>"))

    [received] = smtp_server.to("html.notify@example.com")
    assert received.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in received.walk()][1:] == ["text/plain", "text/html"]


def test_closed_port_raises_an_error_naming_the_server() -> None:
    port = free_port()  # bound then released: nothing listens there
    notifier = SmtpNotifier(host="127.0.0.1", port=port, sender=SENDER, timeout=2)
    with pytest.raises(NotifierUnavailable, match=rf"SMTP server 127\.0\.0\.1:{port}"):
        notifier.send_email(spec("nobody@example.com"))


class PeerSink:
    """An aiosmtpd handler that notes, for each message, the client end of the connection it came on."""

    def __init__(self) -> None:
        self.peers: list[object] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.peers.append(session.peer)  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"


@pytest.fixture
def peer_server() -> Iterator[tuple[PeerSink, int]]:
    sink, port = PeerSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def test_emails_share_a_kept_connection(peer_server: tuple[PeerSink, int]) -> None:
    sink, port = peer_server
    notifier = SmtpNotifier(host="127.0.0.1", port=port, sender=SENDER, timeout=5)
    for n in range(3):
        notifier.send_email(spec(f"kept{n}@example.com"))
    assert len(sink.peers) == 3 and len(set(sink.peers)) == 1  # one connection for the three
    notifier.close()


def test_a_connection_idle_too_long_is_replaced(
    peer_server: tuple[PeerSink, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, port = peer_server
    notifier = SmtpNotifier(host="127.0.0.1", port=port, sender=SENDER, timeout=5)
    notifier.send_email(spec("idle1@example.com"))
    monkeypatch.setattr(smtp_module, "REUSE_SECONDS", -1.0)  # every kept connection is now too old
    notifier.send_email(spec("idle2@example.com"))
    assert len(sink.peers) == 2 and sink.peers[0] != sink.peers[1]


def test_a_connection_the_server_dropped_is_replaced_before_sending() -> None:
    port = free_port()
    first = PeerSink()
    controller = Controller(first, hostname="127.0.0.1", port=port)
    controller.start()
    notifier = SmtpNotifier(host="127.0.0.1", port=port, sender=SENDER, timeout=5)
    notifier.send_email(spec("before@example.com"))
    controller.stop()  # the server goes away with the kept connection, and comes back
    second = PeerSink()
    controller = Controller(second, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        notifier.send_email(spec("after@example.com"))  # NOOP fails on the old one: a new connection
    finally:
        controller.stop()
    assert len(first.peers) == 1 and len(second.peers) == 1


def test_a_refused_recipient_leaves_the_connection_usable(peer_server: tuple[PeerSink, int]) -> None:
    sink, port = peer_server

    async def refuse(server: object, session: object, envelope: object, address: str, options: object) -> str:
        if address.startswith("nobody"):
            return "550 no such user here"
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    sink.handle_RCPT = refuse  # type: ignore[attr-defined]
    notifier = SmtpNotifier(host="127.0.0.1", port=port, sender=SENDER, timeout=5)
    with pytest.raises(MessageRejected, match=r"refused recipient nobody@example\.com"):
        notifier.send_email(spec("nobody@example.com"))
    notifier.send_email(spec("somebody@example.com"))
    notifier.send_email(spec("somebody.else@example.com"))
    assert len(sink.peers) == 2 and len(set(sink.peers)) == 1
