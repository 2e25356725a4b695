from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.currency import is_currency, minor_units
from domain.geo import is_country, is_timezone
from domain.ids import is_valid_id, new_id, new_ids
from domain.organisations import OrganisationKind, child_path, depth, may_parent


def test_ids_are_prefixed_and_sort_by_creation_time() -> None:
    earlier = new_id("acc", now_ms=1_700_000_000_000)
    later = new_id("acc", now_ms=1_700_000_000_001)
    assert earlier.startswith("acc_") and len(earlier) == 30
    assert earlier < later
    assert is_valid_id(earlier, "acc") and not is_valid_id(earlier, "org")


@given(st.integers(min_value=0, max_value=40_000))
def test_a_batch_of_ids_is_valid_unique_and_in_order(count: int) -> None:
    ids = new_ids("evt", count, now_ms=1_700_000_000_000)
    assert ids == sorted(ids) and len(set(ids)) == count
    assert all(is_valid_id(i, "evt") for i in ids[:50] + ids[-50:])
    later = new_id("evt", now_ms=1_700_000_000_001)
    assert all(i < later for i in ids[-1:])


@given(st.text(max_size=40))
def test_arbitrary_text_is_never_taken_for_an_id(text: str) -> None:
    assert not is_valid_id(text, "acc") or (text.startswith("acc_") and len(text) == 30)


def test_reference_data() -> None:
    assert minor_units("JPY") == 0 and minor_units("EUR") == 2 and minor_units("KWD") == 3
    assert is_currency("USD") and not is_currency("EUX") and not is_currency("usd")
    assert is_country("ES") and not is_country("XX") and not is_country("es")
    assert is_timezone("America/New_York") and not is_timezone("Mars/Olympus")


def test_organisation_tree_rules() -> None:
    assert may_parent(OrganisationKind.OPERATOR, OrganisationKind.PARTNER)
    assert may_parent(OrganisationKind.PARTNER, OrganisationKind.OUTLET)
    assert not may_parent(OrganisationKind.OUTLET, OrganisationKind.RESELLER)
    assert not may_parent(OrganisationKind.RESELLER, OrganisationKind.PARTNER)
    path = child_path(child_path("/", "org_A"), "org_B")
    assert path == "/org_A/org_B/" and depth(path) == 2


def test_ids_made_one_after_the_other_in_one_process_sort_in_that_order() -> None:
    """Many in one millisecond: each still sorts after the one before (events of an object keep order)."""
    made = [new_id("evt") for _ in range(5000)]
    assert made == sorted(made) and len(set(made)) == len(made)
