"""Gateways: cash always, Stripe when configured, third parties through the entry point."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from integrations.payments.base import ChargeRequest, ChargeResult, ChargeStatus, RefundRequest, RefundResult
from runtime.payments import build_gateways
from runtime.settings import Settings


class AcmePayGateway:
    """What a third-party package ships: a class with ``name``, ``charge``, ``lookup``, ``refund``."""

    name = "acmepay"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def charge(self, request: ChargeRequest) -> ChargeResult:
        return ChargeResult(
            status=ChargeStatus.SUCCEEDED, gateway_reference=f"acme:{request.idempotency_key}"
        )

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        return None

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(status="succeeded")


def test_cash_always_and_stripe_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    real = metadata.entry_points
    no_gateways = metadata.EntryPoints([])  # whatever plug-in packages this venv has (the test one)
    monkeypatch.setattr(
        metadata,
        "entry_points",
        lambda **params: no_gateways if params.get("group") == "multibill.gateways" else real(**params),
    )
    assert build_gateways(Settings(environment="test")).names() == ["cash"]
    configured = Settings(environment="test", stripe_api_key="sk_test_x")
    assert build_gateways(configured).names() == ["cash", "stripe"]


def test_a_package_registers_its_gateway_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = metadata.EntryPoint(
        name="acmepay", value=f"{__name__}:AcmePayGateway", group="multibill.gateways"
    )
    real = metadata.entry_points

    def fake_entry_points(**params: Any) -> Any:
        if params.get("group") == "multibill.gateways":
            return metadata.EntryPoints([entry])
        return real(**params)

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    registry = build_gateways(Settings(environment="test"))
    assert registry.names() == ["acmepay", "cash"]
    gateway = registry.get("acmepay")
    result = gateway.charge(
        ChargeRequest(
            idempotency_key="inv_1:attempt:1",
            account_id="acc_1",
            amount_minor=100,
            currency="EUR",
            method_token="t",
        )
    )
    assert result.gateway_reference == "acme:inv_1:attempt:1"


@pytest.mark.parametrize("module", ["gateway", "provisioning", "notifier"])
def test_the_readme_examples_are_the_test_plugin(module: str) -> None:
    """The README's worked examples are the plug-ins the integration tests use (tests/plugins)."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    plugin = (root / f"tests/plugins/acme_multibill/acme_multibill/{module}.py").read_text()
    assert f"```python\n{plugin}```" in readme
