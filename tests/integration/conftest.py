"""API clients over ASGI against the test database (and the dev Temporal server when a test needs it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from runtime.settings import Settings
from tests.support.factories import Tenant, make_operator


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with no Temporal server behind it (Temporal is not needed for plain reads and edits)."""
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


@pytest.fixture
def operator(database_url: str) -> Tenant:
    return make_operator(database_url)
