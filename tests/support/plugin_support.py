"""The test plug-in package (tests/plugins/acme_multibill): installed once per session when `make test`
has not (a plain pip install into the running venv, then the import caches refreshed), and an API with a
worker behind it whose registries load every installed plug-in through the entry points."""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runtime.settings import Settings
from runtime.worker import build_worker

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "acme_multibill"
DISTRIBUTION = "acme-multibill"


def ensure_installed() -> None:
    """Install the plug-in package into this interpreter's environment unless it is there already."""
    try:
        distribution(DISTRIBUTION)
        importlib.import_module("acme_multibill.gateway")
        return
    except (PackageNotFoundError, ImportError):
        pass
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", str(PLUGIN_DIR)],
        check=True,
    )
    importlib.invalidate_caches()
    importlib.import_module("acme_multibill.gateway")


@pytest.fixture(scope="session")
def acme_plugin() -> None:
    ensure_installed()


@pytest.fixture
async def plugin_api(
    acme_plugin: None, settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """The API and a worker (own task queue on the dev server), both with every installed plug-in; notices
    go through the plug-in's Acme chat channel."""
    queue = settings.model_copy(
        update={"task_queue": f"plugins-{uuid.uuid4().hex[:8]}", "notifier": "acme-chat"}
    )
    app = create_app(queue, temporal_client=dev_env.client)
    async with (
        build_worker(dev_env.client, queue),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client
