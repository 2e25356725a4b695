"""domain/webhooks.py: signatures a receiver can verify, the URL and event-type rules, the backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import webhooks
from domain.events import EVENT_TYPES
from domain.webhooks import EndpointRejected

SECRET = "whsec_" + "cd" * 32
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_signature_verifies_and_names_its_time() -> None:
    body = b'{"id":"evt_1","type":"invoice.issued"}'
    header = webhooks.sign(SECRET, body, NOW)
    timestamp = int(NOW.timestamp())
    assert header == f"t={timestamp},v1={webhooks.signature(SECRET, timestamp, body)}"
    assert webhooks.verify(SECRET, header, body, now=NOW.timestamp())


@given(st.binary(max_size=200), st.binary(min_size=1, max_size=5))
def test_any_change_of_body_or_secret_fails(body: bytes, extra: bytes) -> None:
    header = webhooks.sign(SECRET, body, NOW)
    assert not webhooks.verify(SECRET, header, body + extra, now=NOW.timestamp())
    assert not webhooks.verify(SECRET + "x", header, body, now=NOW.timestamp())


def test_old_or_malformed_signatures_fail() -> None:
    body = b"{}"
    header = webhooks.sign(SECRET, body, NOW)
    assert webhooks.verify(SECRET, header, body, now=NOW.timestamp() + 300)
    assert not webhooks.verify(SECRET, header, body, now=NOW.timestamp() + 301)
    assert webhooks.verify(SECRET, header, body, tolerance_s=600, now=NOW.timestamp() + 301)
    for broken in ("", "t=,v1=00", f"v1={'0' * 64}", "t=abc,v1=00", header.replace("v1=", "v0=")):
        assert not webhooks.verify(SECRET, broken, body, now=NOW.timestamp())


def test_any_of_several_v1_signatures_may_match() -> None:
    body = b"{}"
    header = webhooks.sign(SECRET, body, NOW)
    rotated = header.replace("v1=", f"v1={'0' * 64},v1=")
    assert webhooks.verify(SECRET, rotated, body, now=NOW.timestamp())


def test_secrets_are_fresh_and_sealed_per_endpoint() -> None:
    first, second = webhooks.new_secret(), webhooks.new_secret()
    assert first.startswith("whsec_") and len(first) == 6 + 64 and first != second
    vault = webhooks.secret_vault("k" * 40)
    sealed = vault.seal(first, "whe_1")
    assert first not in sealed and vault.open(sealed, "whe_1") == first


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/hook", "webhook_url_invalid"),
        ("example.com/hook", "webhook_url_invalid"),
        ("https:///hook", "webhook_url_invalid"),
        ("http://[::1", "webhook_url_invalid"),
        ("https://user:pass@example.com/hook", "webhook_url_credentials"),
        ("https://token@example.com/hook", "webhook_url_credentials"),
    ],
)
def test_urls_refused_everywhere(url: str, code: str) -> None:
    with pytest.raises(EndpointRejected) as refused:
        webhooks.check_url(url, production=False)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/hook",
        "http://api.localhost/hook",
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_hosts_are_refused_in_production_only(url: str) -> None:
    assert webhooks.check_url(url, production=False) == url
    with pytest.raises(EndpointRejected) as refused:
        webhooks.check_url(url, production=True)
    assert refused.value.code == "webhook_url_private"


def test_public_hosts_are_accepted_in_production() -> None:
    for url in (
        "https://hooks.example.com/multibill",
        "http://93.184.216.34:8443/x",
        "https://[2606:4700::1]/",
    ):
        assert webhooks.check_url(url, production=True) == url


def test_event_types_are_known_sorted_and_unique() -> None:
    assert webhooks.check_event_types(["invoice.issued", "account.created", "invoice.issued"]) == [
        "account.created",
        "invoice.issued",
    ]
    assert webhooks.check_event_types([]) == []
    with pytest.raises(EndpointRejected) as refused:
        webhooks.check_event_types(["invoice.issued", "invoice.eaten"])
    assert refused.value.code == "webhook_event_type_unknown" and "invoice.eaten" in str(refused.value)
    assert webhooks.subscribed([], "invoice.issued")
    assert webhooks.subscribed(["invoice.issued"], "invoice.issued")
    assert not webhooks.subscribed(["invoice.issued"], "invoice.voided")
    assert all(webhooks.subscribed(sorted(EVENT_TYPES), t) for t in EVENT_TYPES)


def test_the_backoff_doubles_from_thirty_seconds_to_six_hours() -> None:
    assert [webhooks.retry_delay(n) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=240),
    ]
    assert webhooks.retry_delay(11) == timedelta(hours=6)
    assert webhooks.retry_delay(10_000) == timedelta(hours=6)
    assert webhooks.excerpt("x" * 600) == "x" * 500


def test_the_readme_receiver_example_verifies_a_delivery() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### Webhooks") :]
    code = section[
        section.index("```python") + len("```python") : section.index("```\n", section.index("```python") + 9)
    ]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (the README's own example)
    body = b'{"id":"evt_1"}'
    header = webhooks.sign(SECRET, body, datetime.now(UTC))
    assert namespace["verify"](SECRET, header, body)
    assert not namespace["verify"](SECRET, header, body + b" ")
    assert not namespace["verify"]("whsec_other", header, body)
