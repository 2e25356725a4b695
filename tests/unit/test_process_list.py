"""GET /v1/processes without a server: the visibility query its filters make, and its cursor."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from api.errors import ApiError
from api.processes import (
    ProcessFilters,
    Subtree,
    decode_page_token,
    encode_page_token,
    list_query,
    quoted,
)
from domain.process_ids import ProcessLabels
from workflows.common import search_attributes

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
    subtree = Subtree("/org_a/", ("org_a", "org_b"))
    assert list_query(subtree, filters) == (
        "(OrganisationPath STARTS_WITH '/org_a/' OR OrganisationId IN ('org_a', 'org_b')) "
        "AND (Process = 'Dunning' OR WorkflowType = 'Dunning') "
        f"AND ExecutionStatus = 'Running' AND AccountId = '{ACC}' "
        "AND StartTime >= '2026-03-01T09:00:00.000000Z'"
    )
    assert list_query(Subtree("/org_a/", ("org_a",)), ProcessFilters()) == (
        "(OrganisationPath STARTS_WITH '/org_a/' OR OrganisationId IN ('org_a'))"
    )


def test_a_subtree_too_large_to_name_is_listed_by_its_path_only() -> None:
    query = list_query(Subtree("/org_a/org_b/", None), ProcessFilters(status="failed"))
    assert query == "OrganisationPath STARTS_WITH '/org_a/org_b/' AND ExecutionStatus = 'Failed'"


def test_a_literal_escapes_its_quotes_and_backslashes() -> None:
    assert quoted("/org_a/") == "'/org_a/'"
    assert quoted("/o'rg\\/") == "'/o\\'rg\\\\/'"
    query = list_query(Subtree("/x') OR ('1'='1/", None), ProcessFilters())
    assert query == "OrganisationPath STARTS_WITH '/x\\') OR (\\'1\\'=\\'1/'"


def test_the_path_is_a_search_attribute_of_a_process_of_an_organisation_only() -> None:
    labels = ProcessLabels(process="Onboarding", summary="s", organisation_id="org_b")
    attributes = {pair.key.name: pair.value for pair in search_attributes(labels, "/org_a/org_b/")}
    assert attributes == {
        "OrganisationId": "org_b",
        "OrganisationPath": "/org_a/org_b/",
        "Process": "Onboarding",
    }
    platform = ProcessLabels(process="EventRetention", summary="s")
    assert {pair.key.name for pair in search_attributes(platform, "/org_a/")} == {"Process"}


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
