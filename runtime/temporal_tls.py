"""How a Multibill process reaches its Temporal server: plain (the dev server, a cluster-internal
frontend), TLS with the system's or a given CA, mutual TLS with a client certificate, or an API key
(Temporal Cloud), all from settings (``MULTIBILL_TEMPORAL_TLS*``, ``MULTIBILL_TEMPORAL_API_KEY``).

``connection_options(settings)`` is what ``runtime.temporal.connect`` passes on to ``Client.connect``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from temporalio.service import TLSConfig

from runtime.settings import Settings

__all__ = ["ConnectionOptions", "connection_options"]


class ConnectionOptions(TypedDict):
    """The keyword arguments of ``temporalio.client.Client.connect`` that security is made of."""

    tls: bool | TLSConfig
    api_key: str | None


def connection_options(settings: Settings) -> ConnectionOptions:
    """TLS and API key options from settings; files are read now, so a wrong path fails at start-up
    with the setting's name rather than as a handshake error later."""
    cert, key = settings.temporal_tls_cert_file, settings.temporal_tls_key_file
    if (cert is None) != (key is None):
        raise RuntimeError(
            "mutual TLS to Temporal needs both MULTIBILL_TEMPORAL_TLS_CERT_FILE and "
            "MULTIBILL_TEMPORAL_TLS_KEY_FILE: set the missing one, or neither"
        )
    api_key = settings.temporal_api_key or None
    ca = settings.temporal_tls_ca_file
    wants_tls = settings.temporal_tls or api_key is not None or ca is not None or cert is not None
    if not wants_tls:
        return ConnectionOptions(tls=False, api_key=None)
    if ca is None and cert is None and settings.temporal_tls_server_name is None:
        # The system's roots, the address's host name: what Temporal Cloud's API-key endpoints need.
        return ConnectionOptions(tls=True, api_key=api_key)
    return ConnectionOptions(
        tls=TLSConfig(
            server_root_ca_cert=_read(ca, "MULTIBILL_TEMPORAL_TLS_CA_FILE") if ca else None,
            domain=settings.temporal_tls_server_name,
            client_cert=_read(cert, "MULTIBILL_TEMPORAL_TLS_CERT_FILE") if cert else None,
            client_private_key=_read(key, "MULTIBILL_TEMPORAL_TLS_KEY_FILE") if key else None,
        ),
        api_key=api_key,
    )


def _read(path: Path, setting: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RuntimeError(
            f"{setting}={path} cannot be read ({exc.strerror}): mount the file or fix the path"
        ) from exc
    if b"-----BEGIN " not in data:
        raise RuntimeError(f"{setting}={path} is not a PEM file (no -----BEGIN line): give the PEM form")
    return data
