"""`multibill processes list --organisation`: an id names one organisation, a tree path its whole subtree."""

from __future__ import annotations

import pytest

from runtime.process_ops import Filters, ProcessOpsError, visibility_query


def test_an_organisation_id_is_exact_and_a_path_is_a_subtree() -> None:
    assert visibility_query(Filters(organisation="org_a")) == "OrganisationId = 'org_a'"
    assert visibility_query(Filters(organisation="/org_a/org_b/", account="acc_1")) == (
        "OrganisationPath STARTS_WITH '/org_a/org_b/' AND AccountId = 'acc_1'"
    )


@pytest.mark.parametrize("path", ["/org_a", "/org_a/'x/", "/", "/org a/", "//"])
def test_a_path_that_is_not_a_tree_path_is_refused(path: str) -> None:
    with pytest.raises(ProcessOpsError) as raised:
        visibility_query(Filters(organisation=path))
    assert "a path is /org_" in str(raised.value)
