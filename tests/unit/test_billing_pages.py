"""The BillingCycle's pages from their last account ids (``pages_of``, pure: the workflow calls it)."""

from __future__ import annotations

from activities.billing.io import RunInput, pages_of


def test_each_page_starts_after_the_last_one_ended() -> None:
    run = RunInput(run_id="bir_1", organisation_id="org_1", bill_day=5, page_size=2)
    pages = pages_of(run, ["acc_b", "acc_d", "acc_e"])
    assert [(p.after, p.until) for p in pages] == [(None, "acc_b"), ("acc_b", "acc_d"), ("acc_d", "acc_e")]
    assert all(p.run == run for p in pages)
    assert pages_of(run, []) == []
