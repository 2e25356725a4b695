"""The identity rules that need no server: the password rules (NIST 800-63B), argon2 hashing, the
lockout's doubling, and where the portal may send a browser after signing in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.identity.passwords import hash_password, password_problem, verify_password
from activities.identity.throttle import lock_length
from portal.auth_pages import safe_next


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("elevenchars", "password_too_short"),
        ("y" * 129, "password_too_long"),
        ("QWERTY123456", "password_too_common"),
        ("abababababababab", "password_too_common"),
        ("someone.example", "password_is_email"),
        ("SomeOne.Example@example.org", "password_is_email"),
    ],
)
def test_refused_passwords_name_their_rule(password: str, code: str) -> None:
    problem = password_problem(password, "someone.example@example.org")
    assert problem is not None and problem.code == code and problem.field == "password"


@pytest.mark.parametrize("password", ["x7-harbour-lamp-q", "aaaaabcdefghij!", "ñandú y cóndor 2026"])
def test_good_passwords_pass(password: str) -> None:
    assert password_problem(password, "someone@example.org") is None


def test_twelve_and_128_characters_are_the_bounds() -> None:
    assert password_problem("k4-" + "m" * 8 + "q", "a@b.c") is None  # 12
    assert password_problem("k4-" + "m" * 124 + "q", "a@b.c") is None  # 128


def test_hashes_are_salted_argon2id_and_verify() -> None:
    first, second = hash_password("violet-harbour-42"), hash_password("violet-harbour-42")
    assert first != second and first.startswith("$argon2id$")
    assert verify_password(first, "violet-harbour-42")
    assert not verify_password(first, "violet-harbour-43")
    assert not verify_password(None, "violet-harbour-42")
    assert not verify_password("not-a-hash", "violet-harbour-42")


def test_lockouts_double_up_to_a_day() -> None:
    assert [lock_length(n) for n in (1, 2, 3)] == [
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=1),
    ]
    assert lock_length(20) == timedelta(hours=24)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/portal/"),
        ("", "/portal/"),
        ("/portal/tickets/tkt_1", "/portal/tickets/tkt_1"),
        ("/oauth/authorize?client_id=x&state=y", "/oauth/authorize?client_id=x&state=y"),
        ("/oauth/token", "/portal/"),
        ("https://evil.example/portal/", "/portal/"),
        ("//evil.example", "/portal/"),
        ("/\\evil.example", "/portal/"),
        ("javascript:alert(1)", "/portal/"),
        ("/portalx", "/portal/"),
    ],
)
def test_after_sign_in_only_this_portal_or_the_oauth_request(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
