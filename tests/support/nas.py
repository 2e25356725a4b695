"""A NAS simulator for RFC 5176: a UDP server that receives Disconnect- and CoA-Requests and answers them.

It checks each request's authenticator with the shared secret, keeps the decoded requests, and
answers ACK, or NAK with ``Error-Cause`` when ``nak_cause`` is set; ``silent`` makes it drop requests
(for timeout tests). Runs in a thread on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from pyrad import packet

from integrations.provisioning.radius.dynauth import dictionary


@dataclass
class ReceivedRequest:
    code: int
    authentic: bool
    attributes: dict[str, list[Any]]


@dataclass
class NasSimulator:
    secret: str
    host: str = "127.0.0.1"
    port: int = 0
    nak_cause: int | None = None
    silent: bool = False
    received: list[ReceivedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((self.host, self.port))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._dict = dictionary()
        self._thread = threading.Thread(target=self._serve, name="nas-simulator", daemon=True)

    def start(self) -> NasSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            request = packet.CoAPacket(packet=data, secret=self.secret.encode(), dict=self._dict)
            attrs = {str(k): list(request[k]) for k in request.keys()}  # noqa: SIM118 (decoded names)
            self.received.append(ReceivedRequest(request.code, request.VerifyCoARequest(), attrs))
            if self.silent:
                continue
            reply = request.CreateReply()
            if self.nak_cause is not None:
                reply.code = (
                    packet.DisconnectNAK if request.code == packet.DisconnectRequest else packet.CoANAK
                )
                reply["Error-Cause"] = self.nak_cause
            self._sock.sendto(reply.ReplyPacket(), peer)
