"""Plug-ins that misbehave on request, for the tests: off (None) unless their environment variable is set."""

from __future__ import annotations

import os
from typing import Any

from acme_multibill.gateway import AcmePayGateway


def broken_gateway(settings: Any) -> AcmePayGateway | None:
    """With ACME_MULTIBILL_BREAK set: a factory that raises (the plug-in must be disabled, not fatal)."""
    if os.environ.get("ACME_MULTIBILL_BREAK"):
        raise RuntimeError("AcmePay credentials are missing (ACME_MULTIBILL_BREAK)")
    return None


def twin_gateway(settings: Any) -> AcmePayGateway | None:
    """With ACME_MULTIBILL_TWIN=<name>: a gateway that claims that name (a clash to be refused)."""
    name = os.environ.get("ACME_MULTIBILL_TWIN")
    if not name:
        return None
    gateway = AcmePayGateway(settings)
    gateway.name = name
    return gateway
