"""The API's cache of verified keys (api.deps.ApiKeyCache): what it keeps, for how long, and forgetting a
revoked key at once."""

from __future__ import annotations

import time

from api.deps import API_KEY_CACHE_SECONDS, ApiKeyCache
from domain.organisations import Role
from domain.principal import Principal


def principal(key_id: str) -> Principal:
    return Principal(key_id=key_id, organisation_id="org_a", organisation_path="/org_a/", role=Role.ADMIN)


def test_a_verified_token_is_found_by_the_whole_token_only() -> None:
    cache = ApiKeyCache()
    cache.put("mb_key_1_secret", principal("key_1"))
    assert cache.get("mb_key_1_secret") == principal("key_1")
    assert cache.get("mb_key_1_other") is None  # same key id, another secret
    assert cache.get("mb_key_1_secretX") is None


def test_an_entry_expires_after_its_time() -> None:
    cache = ApiKeyCache(ttl=0.05)
    cache.put("t", principal("key_1"))
    assert cache.get("t") is not None
    time.sleep(0.06)
    assert cache.get("t") is None


def test_forgetting_a_key_drops_every_token_of_it_and_only_those() -> None:
    cache = ApiKeyCache()
    cache.put("a", principal("key_1"))
    cache.put("b", principal("key_1"))
    cache.put("c", principal("key_2"))
    cache.forget("key_1")
    assert cache.get("a") is None and cache.get("b") is None
    assert cache.get("c") == principal("key_2")


def test_a_full_cache_starts_again_rather_than_growing() -> None:
    cache = ApiKeyCache(max_entries=2)
    cache.put("a", principal("key_1"))
    cache.put("b", principal("key_2"))
    cache.put("c", principal("key_3"))
    assert cache.get("c") == principal("key_3")
    assert cache.get("a") is None and cache.get("b") is None


def test_the_documented_bound_is_short() -> None:
    assert 0 < API_KEY_CACHE_SECONDS <= 30
