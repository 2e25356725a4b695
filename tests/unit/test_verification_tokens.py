from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.verification import (
    check_token,
    email_message_id,
    make_token,
    verification_link,
    workflow_id_for,
)

SECRET = "unit-test-secret-" + "y" * 32
ACCOUNT = "acc_01JD0000000000000000000000"
OTHER = "acc_01JD0000000000000000000001"


def test_token_is_deterministic_and_urlsafe() -> None:
    token = make_token(SECRET, ACCOUNT)
    assert token == make_token(SECRET, ACCOUNT)
    assert len(token) == 43  # 32 bytes of HMAC-SHA256, base64 without padding
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_token_is_accepted_for_its_account_only() -> None:
    token = make_token(SECRET, ACCOUNT)
    assert check_token(SECRET, ACCOUNT, token)
    assert not check_token(SECRET, OTHER, token)
    assert not check_token("another-secret", ACCOUNT, token)
    assert make_token(SECRET, OTHER) != token


def test_wrong_or_empty_tokens_are_rejected() -> None:
    token = make_token(SECRET, ACCOUNT)
    assert not check_token(SECRET, ACCOUNT, "")
    assert not check_token(SECRET, ACCOUNT, token[:-1])
    assert not check_token(SECRET, ACCOUNT, token + "A")
    assert not check_token(SECRET, ACCOUNT, token.swapcase())
    assert not check_token(SECRET, ACCOUNT, "ñ" * 43)
    assert not check_token("", ACCOUNT, token)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_each_account_has_its_own_token(first: str, second: str) -> None:
    if first != second:
        assert not check_token(SECRET, second, make_token(SECRET, first))
    assert check_token(SECRET, first, make_token(SECRET, first))


def test_link_process_id_and_message_id() -> None:
    assert verification_link("https://billing.example.com", ACCOUNT, "tok") == (
        f"https://billing.example.com/portal/verify/{ACCOUNT}?token=tok"
    )
    assert workflow_id_for(ACCOUNT) == f"account-verification-{ACCOUNT}"
    assert email_message_id("account-verification-acc_1", "run-1", "Multibill <no-reply@example.org>") == (
        "<account-verification-acc_1.run-1@example.org>"
    )
