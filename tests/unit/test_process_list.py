"""GET /v1/processes without a server: the visibility query its filters make, and its cursor."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from api.errors import ApiError
from api.processes import ProcessFilters, decode_page_token, encode_page_token, list_query

ACC = "acc_01M8P64HPQ9FH2FKBFGN6183RW"


def test_the_query_names_the_subtree_then_each_filter() -> None:
    madrid = timezone(timedelta(hours=1))
    filters = ProcessFilters(
        type="Dunning",
        status="running",
        account_id=ACC,
        started_since=datetime(2026, 3, 1, 10, 0, tzinfo=madrid),
    )
    filters.check()
    assert list_query(["org_a", "org_b"], filters) == (
        "OrganisationId IN ('org_a', 'org_b') AND (Process = 'Dunning' OR WorkflowType = 'Dunning') "
        f"AND ExecutionStatus = 'Running' AND AccountId = '{ACC}' "
        "AND StartTime >= '2026-03-01T09:00:00.000000Z'"
    )
    assert list_query(["org_a"], ProcessFilters()) == "OrganisationId IN ('org_a')"


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (ProcessFilters(status="sleeping"), "status"),
        (ProcessFilters(type="Dunning' OR 'x'='x"), "type"),
        (ProcessFilters(account_id="sub_01M8P64HPQCZ70WA8KAVN28KTT"), "account_id"),
        (ProcessFilters(invoice_id="inv_') OR ('1"), "invoice_id"),
    ],
)
def test_a_bad_filter_never_reaches_the_query(filters: ProcessFilters, field: str) -> None:
    with pytest.raises(ApiError) as raised:
        filters.check()
    assert raised.value.status == 422 and raised.value.code == "invalid_filter"
    assert raised.value.extra["field"] == field


def test_the_cursor_wraps_temporals_page_token() -> None:
    token = bytes(range(256))
    cursor = encode_page_token(token)
    assert "=" not in cursor and decode_page_token(cursor) == token
    for forged in ("", "abc", encode_page_token(b"")[:-1], "YWNjXzEyMw"):
        with pytest.raises(ApiError) as raised:
            decode_page_token(forged)
        assert raised.value.code == "invalid_cursor"
