"""An API deployed before its worker registers the search attributes its process starts set (else the
first starts would fail on a namespace that lacks them)."""

from __future__ import annotations

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from api.deps import TemporalGateway
from runtime.codec import data_converter
from runtime.settings import Settings
from runtime.temporal import find_binary
from workflows.common import SEARCH_ATTRIBUTES

pytestmark = pytest.mark.temporal


async def test_the_api_registers_the_search_attributes_on_first_connect() -> None:
    settings = Settings(environment="test")
    bare = await WorkflowEnvironment.start_local(  # a namespace with none of ours
        data_converter=data_converter(settings), dev_server_existing_path=find_binary("temporal")
    )
    try:
        namespace = bare.client.namespace
        before = await bare.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        assert not {key.name for key in SEARCH_ATTRIBUTES} & set(before.custom_attributes)
        target = bare.client.service_client.config.target_host
        gateway = TemporalGateway(
            settings.model_copy(update={"temporal_address": target, "temporal_namespace": namespace})
        )
        await gateway.client()
        after = await bare.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        assert {key.name for key in SEARCH_ATTRIBUTES} <= set(after.custom_attributes)
    finally:
        await bare.shutdown()
