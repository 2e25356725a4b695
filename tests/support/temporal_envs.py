"""Temporal servers for tests: the time-skipping test server (shared, or private to one test) and the
dev server with the platform's search attributes, all with the pydantic data converter.

The dev server's client also seals every payload (runtime/codec.py, with the key the ``settings`` fixture
has, the public development key unless MULTIBILL_PAYLOAD_KEYS is set), as production does, so the end to
end tests run through the codec. The time-skipping servers keep payloads in clear: the histories that
``tests.workflows.record_histories`` records from them stay readable JSON in git.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from runtime.codec import data_converter
from runtime.settings import Settings
from runtime.temporal import SEARCH_ATTRIBUTES, ensure_search_attributes, find_binary


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=find_binary("temporal-test-server"),
    )
    await ensure_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@pytest.fixture
async def own_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A private time-skipping server for one test.

    Use it when a workflow of the test outlives its parent (a detached child such as Dunning started
    by Collection, or OnDemandAccess started by Onboarding): once such a child completes after its
    parent closed, the test server stops skipping time, and every later test on a shared server would
    wait in real time.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=find_binary("temporal-test-server"),
    )
    await ensure_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings(environment="test")),
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
    )
    yield env
    await env.shutdown()
