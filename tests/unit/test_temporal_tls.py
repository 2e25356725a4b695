"""The Temporal connection options built from settings: plain, TLS, mutual TLS, Temporal Cloud API key."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from runtime.settings import Settings
from runtime.temporal_tls import connection_options

CA = b"-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n"
KEY = b"-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, Path]:
    files = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "client.pem", "key": tmp_path / "client.key"}
    for name, data in zip(files, (CA, CERT, KEY), strict=True):
        files[name].write_bytes(data)
    return files


def test_plain_by_default() -> None:
    assert connection_options(Settings()) == {"tls": False, "api_key": None}


def test_tls_with_the_system_roots() -> None:
    assert connection_options(Settings(temporal_tls=True)) == {"tls": True, "api_key": None}


def test_an_api_key_implies_tls_for_temporal_cloud() -> None:
    options = connection_options(Settings(temporal_api_key="tc-key"))
    assert options == {"tls": True, "api_key": "tc-key"}


def test_a_private_ca_and_server_name(pem: dict[str, Path]) -> None:
    options = connection_options(
        Settings(temporal_tls_ca_file=pem["ca"], temporal_tls_server_name="temporal.internal")
    )
    assert options["tls"] == TLSConfig(server_root_ca_cert=CA, domain="temporal.internal")
    assert options["api_key"] is None


def test_mutual_tls_reads_the_client_certificate_and_key(pem: dict[str, Path]) -> None:
    options = connection_options(
        Settings(
            temporal_tls_ca_file=pem["ca"],
            temporal_tls_cert_file=pem["cert"],
            temporal_tls_key_file=pem["key"],
        )
    )
    assert options["tls"] == TLSConfig(server_root_ca_cert=CA, client_cert=CERT, client_private_key=KEY)


def test_mutual_tls_with_the_system_roots_and_an_api_key(pem: dict[str, Path]) -> None:
    options = connection_options(
        Settings(temporal_tls_cert_file=pem["cert"], temporal_tls_key_file=pem["key"], temporal_api_key="k")
    )
    assert options["tls"] == TLSConfig(client_cert=CERT, client_private_key=KEY)
    assert options["api_key"] == "k"


def test_environment_variables_reach_the_options(
    pem: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MULTIBILL_TEMPORAL_TLS_CERT_FILE", str(pem["cert"]))
    monkeypatch.setenv("MULTIBILL_TEMPORAL_TLS_KEY_FILE", str(pem["key"]))
    tls = connection_options(Settings())["tls"]
    assert isinstance(tls, TLSConfig) and tls.client_cert == CERT


def test_a_certificate_without_its_key_is_refused(pem: dict[str, Path]) -> None:
    with pytest.raises(RuntimeError, match="MULTIBILL_TEMPORAL_TLS_KEY_FILE"):
        connection_options(Settings(temporal_tls_cert_file=pem["cert"]))


def test_a_missing_file_names_the_setting_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(RuntimeError, match=r"MULTIBILL_TEMPORAL_TLS_CA_FILE=.*nope\.pem cannot be read"):
        connection_options(Settings(temporal_tls_ca_file=missing))


def test_a_file_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    der = tmp_path / "ca.der"
    der.write_bytes(b"\x30\x82\x01\x0a")
    with pytest.raises(RuntimeError, match="not a PEM file"):
        connection_options(Settings(temporal_tls_ca_file=der))
