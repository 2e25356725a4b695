"""SMTP submission as a production mail provider wants it: STARTTLS (with the server's certificate
verified) and a login, configured by settings (MULTIBILL_SMTP_*). The server is aiosmtpd requiring
STARTTLS before anything and TLS before AUTH, with a certificate made here for 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from integrations.notify.base import EmailMessageSpec, MessageRejected, NotifierUnavailable
from runtime.notifiers import smtp_notifier
from runtime.settings import Settings
from tests.support.ports import free_port

USER, PASSWORD = "billing@example.com", "s3cret-app-password"


@dataclass
class Received:
    messages: list[tuple[bytes | None, bool, bytes]] = field(default_factory=list)  # login, over TLS, data

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append((login, session.ssl is not None, envelope.content))
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp.pem", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@dataclass
class Server:
    port: int
    ca_file: Path
    received: Received


@pytest.fixture(scope="module")
def submission_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cert_file, key_file = self_signed(tmp_path_factory.mktemp("smtp-tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    received = Received()
    port = free_port()
    controller = Controller(
        received,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    yield Server(port, cert_file, received)
    controller.stop()


def settings(server: Server, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_starttls": True,
        "smtp_username": USER,
        "smtp_password": PASSWORD,
        "smtp_tls_ca_file": server.ca_file,
        "smtp_timeout_seconds": 5,
    }
    return Settings(**(values | overrides))


def email(to: str) -> EmailMessageSpec:
    return EmailMessageSpec(to=to, subject="Your invoice", text="Hello\n", message_id=f"<{to}>")


def test_starttls_and_login_from_settings_deliver_the_email(submission_server: Server) -> None:
    smtp_notifier(settings(submission_server)).send_email(email("ana@example.com"))

    [(login, over_tls, content)] = [m for m in submission_server.received.messages if b"<ana@" in m[2]]
    assert login == USER.encode()
    assert over_tls is True
    assert b"Subject: Your invoice" in content


def test_the_servers_certificate_is_verified(submission_server: Server) -> None:
    # Without the test CA the self-signed certificate is refused (smtplib's own default would accept it).
    notifier = smtp_notifier(settings(submission_server, smtp_tls_ca_file=None))
    with pytest.raises(NotifierUnavailable, match=r"CERTIFICATE_VERIFY_FAILED"):
        notifier.send_email(email("unverified@example.com"))


def test_a_wrong_password_is_reported_with_the_servers_code(submission_server: Server) -> None:
    notifier = smtp_notifier(settings(submission_server, smtp_password="wrong"))
    with pytest.raises(MessageRejected, match=r"127\.0\.0\.1:\d+ rejected the message \(535\)"):
        notifier.send_email(email("wrong.password@example.com"))


def test_without_starttls_a_server_that_requires_it_refuses(submission_server: Server) -> None:
    notifier = smtp_notifier(settings(submission_server, smtp_starttls=False, smtp_username=None))
    with pytest.raises(MessageRejected, match=r"\(530\)"):
        notifier.send_email(email("plain@example.com"))
    assert not [m for m in submission_server.received.messages if b"<plain@" in m[2]]
