"""Every operation of the OpenAPI contract is fit for an SDK generator: a response model (files keep their
media types, as binary strings), its problem+json errors documented, an example for every request body
that validates against the route's own model, and a fixed, unique snake_case operation id."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

import pytest

import api.app
from api.docs import BINARY, operation_id
from api.examples import FILE_EXAMPLES, JSON_EXAMPLES
from api.operation_ids import OPERATION_IDS
from runtime.settings import Settings

COMMON_ERRORS = ("400", "401", "403", "404", "409", "413", "422", "500", "503")
# Statuses some operations answer beyond the common ones (raised below the endpoint, so named here).
MORE_ERRORS = {"verification_confirm": {"410"}, "usage_import_cdrs": {"415"}, "wallets_top_up": {"402"}}
FILE_MEDIA_TYPES = {"application/pdf", "application/xml", "text/csv", "image/png", "image/jpeg", "image/webp"}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BROWSER_REDIRECTS = {"/oauth/authorize"}  # OAuth 2.0 (RFC 6749 4.1.1): the answer is a redirect


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    route: Any  # FastAPI's route: its endpoint and body field

    @property
    def id(self) -> str:
        return str(self.spec["operationId"])


def _contract(monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[Operation]]:
    routes: dict[str, Any] = {}

    def recording(route: Any) -> str:
        routes[operation_id(route)] = route
        return operation_id(route)

    monkeypatch.setattr(api.app, "operation_id", recording)
    offline = Settings(
        environment="test", database_url="postgresql+psycopg2://x@127.0.0.1:1/x", secret_key="c" * 40
    )
    spec = api.app.create_app(offline).openapi()
    ops = [
        Operation(method, path, op, routes[op["operationId"]])
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]
    return spec, ops


@pytest.fixture(scope="module")
def contract() -> tuple[dict[str, Any], list[Operation]]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _contract(monkeypatch)


def test_every_operation_answers_a_model_or_a_typed_file(
    contract: tuple[dict[str, Any], list[Operation]],
) -> None:
    spec, ops = contract
    schemas = spec["components"]["schemas"]
    assert len(ops) > 100
    for op in ops:
        success = {status: r for status, r in op.spec["responses"].items() if status.startswith("2")}
        if not success and op.path in BROWSER_REDIRECTS:  # a browser is sent on: no body, by definition
            assert "302" in op.spec["responses"], (op.id, "a redirect documents its 302")
            continue
        assert len(success) == 1, (op.id, list(success))
        if "204" in success:  # No Content: a delete answers nothing, by definition
            assert not success["204"].get("content"), (op.id, "a 204 with a body")
            continue
        content = next(iter(success.values())).get("content")
        assert content, (op.id, "no response body")
        for media_type, body in content.items():
            schema = body.get("schema", {})
            if media_type in FILE_MEDIA_TYPES:
                assert schema == BINARY, (op.id, media_type, schema)
            elif media_type == "text/html":
                assert schema == {"type": "string"}, (op.id, schema)
            else:
                assert media_type == "application/json", (op.id, media_type)
                ref = schema.get("$ref", "") or schema.get("items", {}).get("$ref", "")  # a model or a list
                assert ref.startswith("#/components/schemas/"), (op.id, "no response model", schema)
                assert ref.rsplit("/", 1)[-1] in schemas, (op.id, ref)


def test_every_operation_documents_the_problems_it_can_answer(
    contract: tuple[dict[str, Any], list[Operation]],
) -> None:
    _, ops = contract
    for op in ops:
        responses = op.spec["responses"]
        if op.path == "/healthz":
            assert set(responses) == {"200", "503"}
            continue
        raised = set(re.findall(r"ApiError\(\s*(\d{3})", inspect.getsource(op.route.endpoint)))
        for status in {*COMMON_ERRORS, *MORE_ERRORS.get(op.id, set()), *raised}:
            assert status in responses, (op.id, f"{status} not documented")
            assert responses[status]["content"] == {"application/problem+json": {"schema": PROBLEM_REF}}, (
                op.id,
                status,
            )
            assert responses[status]["description"], (op.id, status)
        assert "Retry-After" in responses["503"]["headers"], op.id


def test_every_request_body_has_an_example_its_route_accepts(
    contract: tuple[dict[str, Any], list[Operation]],
) -> None:
    _, ops = contract
    with_body = [op for op in ops if "requestBody" in op.spec]
    assert {op.method for op in with_body} <= {"post", "put", "patch"}
    missing = {op.id for op in with_body} - set(JSON_EXAMPLES) - set(FILE_EXAMPLES)
    assert not missing, f"add an example body to api/examples.py for {sorted(missing)}"
    stale = (set(JSON_EXAMPLES) | set(FILE_EXAMPLES)) - {op.id for op in with_body}
    assert not stale, f"api/examples.py has examples for no operation: {sorted(stale)}"
    for op in with_body:
        for media_type, body in op.spec["requestBody"]["content"].items():
            examples = body.get("examples", {})
            assert examples, (op.id, media_type, "no example")
            for example in examples.values():
                value = example["value"]
                if media_type == "application/json":
                    _, errors = op.route.body_field.validate(value, {}, loc=("body",))
                    assert not errors, (op.id, errors)
                else:
                    assert isinstance(value, str) and value.strip(), (op.id, media_type)


def test_operation_ids_are_fixed_unique_and_snake_case(
    contract: tuple[dict[str, Any], list[Operation]],
) -> None:
    _, ops = contract
    ids = [op.id for op in ops]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) and len(i) <= 48 for i in ids), ids
    for op in ops:
        key = f"{op.method.upper()} {op.path}"
        assert OPERATION_IDS.get(key) == op.id, f'add "{key}": "{op.id}" to api/operation_ids.py'
    fixed = list(OPERATION_IDS.values())
    assert len(fixed) == len(set(fixed)), "an operation id is never given to two operations"


def test_a_renamed_function_keeps_its_operation_id(contract: tuple[dict[str, Any], list[Operation]]) -> None:
    _, ops = contract
    op = next(o for o in ops if o.id == "accounts_create")

    @dataclass
    class Renamed:
        methods: set[str]
        path: str
        name: str
        endpoint: Any

    renamed = Renamed({"POST"}, op.path, "open_customer_account", op.route.endpoint)
    assert operation_id(renamed) == "accounts_create"  # type: ignore[arg-type]


def test_every_operation_lists_its_own_problem_codes(
    contract: tuple[dict[str, Any], list[Operation]],
) -> None:
    """Each code an endpoint raises itself is listed under its status; codes raised deeper (in the
    transaction scripts it calls) are found too, so a generated client can name them."""
    _, ops = contract
    for op in ops:
        source = inspect.getsource(op.route.endpoint)
        for status, code in re.findall(r'ApiError\(\s*(\d{3}),\s*"([a-z_]+)"', source):
            listed = op.spec["responses"][status].get("x-problem-codes", [])
            assert code in listed, (op.id, status, code, listed)
            assert f"`{code}`" in op.spec["responses"][status]["description"], (op.id, code)
    by_id = {op.id: op.spec for op in ops}
    deep = by_id["subscriptions_create"]["responses"]
    assert "account_closed" in deep["422"]["x-problem-codes"]  # raised in activities/subscriptions
    assert "plan_not_found" in deep["404"]["x-problem-codes"]
    assert "process_already_started" in deep["409"]["x-problem-codes"]  # the process starter's
    update = by_id["organisations_update"]["responses"]
    assert update["422"]["x-problem-codes"] == ["empty_update", "operator_setting"]
