"""Dynamic authorisation (RFC 5176): Disconnect-Request and CoA-Request to the NAS, with pyrad.

A Disconnect-Request names the session by ``User-Name`` (all of the user's sessions on that NAS)
and carries ``Event-Timestamp``; the NAS answers Disconnect-ACK, or Disconnect-NAK with an
``Error-Cause`` — 503 "Session Context Not Found" means the subscriber is offline, which is fine.
A CoA-Request carries the new rate attributes so a plan change applies without reconnecting.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from pyrad import packet
from pyrad.client import Client, Timeout
from pyrad.dictionary import Dictionary

DICTIONARY = """
ATTRIBUTE	User-Name		1	string
ATTRIBUTE	User-Password		2	string
ATTRIBUTE	NAS-IP-Address		4	ipaddr
ATTRIBUTE	Reply-Message		18	string
ATTRIBUTE	Class			25	octets
ATTRIBUTE	Acct-Session-Id		44	string
ATTRIBUTE	Event-Timestamp		55	date
ATTRIBUTE	Message-Authenticator	80	octets
ATTRIBUTE	Error-Cause		101	integer
VALUE	Error-Cause	Residual-Session-Context-Removed	201
VALUE	Error-Cause	Session-Context-Not-Found	503
VENDOR		Mikrotik	14988
BEGIN-VENDOR	Mikrotik
ATTRIBUTE	Mikrotik-Rate-Limit	8	string
END-VENDOR	Mikrotik
VENDOR		WISPr		14122
BEGIN-VENDOR	WISPr
ATTRIBUTE	WISPr-Bandwidth-Max-Up		7	integer
ATTRIBUTE	WISPr-Bandwidth-Max-Down	8	integer
END-VENDOR	WISPr
"""

SESSION_NOT_FOUND = 503


def dictionary() -> Dictionary:
    return Dictionary(io.StringIO(DICTIONARY))


@dataclass(frozen=True)
class DynAuthAnswer:
    ok: bool
    detail: str
    retryable: bool = True


@dataclass(frozen=True)
class NasPeer:
    host: str
    port: int
    secret: str
    timeout: float = 3.0

    @classmethod
    def parse(cls, address: str, secret: str, timeout: float = 3.0) -> NasPeer:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"NAS address must be host:port, got {address!r}")
        return cls(host, int(port), secret, timeout)

    def _client(self) -> Client:
        client = Client(server=self.host, coaport=self.port, secret=self.secret.encode(), dict=dictionary())
        client.timeout, client.retries = self.timeout, 2
        return client

    def _send(self, code: int, username: str, attributes: dict[str, object]) -> DynAuthAnswer:
        client = self._client()
        request = client.CreateCoAPacket(code=code)
        request["User-Name"] = username
        request["Event-Timestamp"] = int(time.time())
        for name, value in attributes.items():
            request[name] = value
        what = "Disconnect" if code == packet.DisconnectRequest else "CoA"
        try:
            reply = client.SendPacket(request)
        except Timeout:
            return DynAuthAnswer(False, f"NAS {self.host}:{self.port} did not answer the {what}-Request")
        except OSError as exc:
            return DynAuthAnswer(False, f"NAS {self.host}:{self.port} unreachable: {exc}")
        if reply.code in (packet.DisconnectACK, packet.CoAACK):
            return DynAuthAnswer(True, f"{what}-ACK")
        cause = reply.get("Error-Cause", [None])[0]
        if cause in (SESSION_NOT_FOUND, "Session-Context-Not-Found"):
            return DynAuthAnswer(True, f"{what}-NAK: no session (subscriber offline)")
        return DynAuthAnswer(False, f"{what}-NAK Error-Cause {cause}", retryable=False)

    def disconnect(self, username: str) -> DynAuthAnswer:
        return self._send(packet.DisconnectRequest, username, {})

    def change(self, username: str, reply_attributes: list[tuple[str, str, str]]) -> DynAuthAnswer:
        attrs: dict[str, object] = {
            name: int(value) if name.startswith("WISPr-") else value for name, _, value in reply_attributes
        }
        return self._send(packet.CoARequest, username, attrs)
