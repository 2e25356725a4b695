"""Schema fuzzing: schemathesis sends generated requests to every operation of a live API (uvicorn on a
free port, the test database, a Temporal dev server), as an operator admin and as a partner admin.

It fails on any 5xx, a status code the contract does not list, a content type it does not declare, or a
body that contradicts the declared response schema. Generation is derandomized (the same examples every
run) and bounded per operation, so the whole module stays at a couple of minutes on two cores.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.organisations import OrganisationKind
from runtime.settings import Settings
from tests.support.factories import Tenant, make_child, make_operator
from tests.support.live_api import serve
from tests.support.worker_process import worker_process

# More for a deeper local search: MULTIBILL_FUZZ_EXAMPLES=200 pytest tests/integration/test_fuzz_api.py
EXAMPLES_PER_OPERATION = int(os.environ.get("MULTIBILL_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
_SECRET = "fuzz-secret-" + "x" * 32


def _contract() -> dict[str, Any]:
    """The contract as the app serves it (building it touches neither the database nor Temporal)."""
    offline = Settings(
        environment="test", database_url="postgresql+psycopg2://x@127.0.0.1:1/x", secret_key=_SECRET
    )
    return create_app(offline).openapi()


SCHEMA = schemathesis.openapi.from_dict(_contract())
_KEYS = itertools.count()
LABELS = sorted(result.ok().label for result in SCHEMA.get_all_operations())


@dataclass(frozen=True)
class Target:
    base_url: str
    callers: dict[str, Tenant]


@pytest.fixture(scope="module")
def target(
    database_url: str, dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    temporal = dev_env.client.service_client.config.target_host
    queue = f"fuzz-{uuid.uuid4().hex[:8]}"
    app_settings = Settings(
        environment="test",
        database_url=database_url,
        temporal_address=temporal,
        task_queue=queue,
        secret_key=_SECRET,
        public_url="http://testserver",
    )
    operator = make_operator(database_url, name="Fuzz Operator")
    partner = make_child(database_url, operator.organisation_id, kind=OrganisationKind.PARTNER)
    # A worker runs what the routes start (a resync, a re-run, a top-up), so routes that wait for
    # their process's outcome answer it rather than 503 process_pending.
    log = tmp_path_factory.mktemp("fuzz") / "worker.log"
    with worker_process(app_settings, temporal, queue, log), serve(create_app(app_settings)) as base_url:
        yield Target(base_url, {"operator": operator, "partner": partner})


@pytest.mark.parametrize("caller", ["operator", "partner"])
@pytest.mark.parametrize("label", LABELS)
def test_operation_survives_generated_requests(target: Target, label: str, caller: str) -> None:
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None
    tenant = target.callers[caller]
    session = requests.Session()

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        # A fresh Idempotency-Key per request, so the bodies reach the routes instead of replaying.
        headers = {**tenant.auth, "Idempotency-Key": f"fuzz-{next(_KEYS)}"}
        case.call_and_validate(
            base_url=target.base_url, session=session, headers=headers, checks=CHECKS, timeout=30
        )

    run()
