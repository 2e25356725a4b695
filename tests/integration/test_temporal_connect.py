"""runtime.temporal.connect passes the TLS options from settings on: the dev server speaks plain gRPC, so a
client told to use TLS (or an API key, which implies it) must fail to connect to it, and a plain one works."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from runtime.settings import Settings
from runtime.temporal import connect


async def test_plain_settings_connect_to_the_dev_server(dev_env: WorkflowEnvironment) -> None:
    target = dev_env.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=target))
    assert client.service_client.config.tls is False
    assert await client.service_client.check_health()


@pytest.mark.parametrize("overrides", [{"temporal_tls": True}, {"temporal_api_key": "not-a-real-key"}])
async def test_tls_settings_reach_the_connection(
    dev_env: WorkflowEnvironment, overrides: dict[str, object]
) -> None:
    target = dev_env.client.service_client.config.target_host
    with pytest.raises(RuntimeError, match="Failed client connect"):
        await connect(Settings(temporal_address=target, **overrides))
