from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain import process_ids
from domain.verification import (
    check_token,
    email_message_id,
    make_token,
    outcome_is_superseded,
    status_after_email_change,
    verification_link,
)

SECRET = "unit-test-secret-" + "y" * 32
ACCOUNT = "acc_01JD0000000000000000000000"
OTHER = "acc_01JD0000000000000000000001"
EMAIL = "ana@example.com"


def test_token_is_deterministic_and_urlsafe() -> None:
    token = make_token(SECRET, ACCOUNT, EMAIL)
    assert token == make_token(SECRET, ACCOUNT, EMAIL)
    assert len(token) == 43  # 32 bytes of HMAC-SHA256, base64 without padding
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_token_is_accepted_for_its_account_only() -> None:
    token = make_token(SECRET, ACCOUNT, EMAIL)
    assert check_token(SECRET, ACCOUNT, EMAIL, token)
    assert not check_token(SECRET, OTHER, EMAIL, token)
    assert not check_token("another-secret", ACCOUNT, EMAIL, token)
    assert make_token(SECRET, OTHER, EMAIL) != token


def test_token_is_bound_to_the_address_it_was_sent_to() -> None:
    token = make_token(SECRET, ACCOUNT, EMAIL)
    assert check_token(SECRET, ACCOUNT, " Ana@Example.com ", token)  # the same address
    assert not check_token(SECRET, ACCOUNT, "ana.new@example.com", token)
    assert make_token(SECRET, ACCOUNT, "ana.new@example.com") != token


def test_wrong_or_empty_tokens_are_rejected() -> None:
    token = make_token(SECRET, ACCOUNT, EMAIL)
    assert not check_token(SECRET, ACCOUNT, EMAIL, "")
    assert not check_token(SECRET, ACCOUNT, EMAIL, token[:-1])
    assert not check_token(SECRET, ACCOUNT, EMAIL, token + "A")
    assert not check_token(SECRET, ACCOUNT, EMAIL, token.swapcase())
    assert not check_token(SECRET, ACCOUNT, EMAIL, "ñ" * 43)
    assert not check_token("", ACCOUNT, EMAIL, token)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_each_account_has_its_own_token(first: str, second: str) -> None:
    if first != second:
        assert not check_token(SECRET, second, EMAIL, make_token(SECRET, first, EMAIL))
    assert check_token(SECRET, first, EMAIL, make_token(SECRET, first, EMAIL))


def test_link_process_id_and_message_id() -> None:
    assert verification_link("https://billing.example.com", ACCOUNT, "tok") == (
        f"https://billing.example.com/portal/verify/{ACCOUNT}?token=tok"
    )
    assert process_ids.account_verification(ACCOUNT) == f"account-verification-{ACCOUNT}"
    assert process_ids.account_verification(ACCOUNT, 7) == f"account-verification-{ACCOUNT}-v7"


def test_a_new_address_voids_the_old_confirmation() -> None:
    assert status_after_email_change("verified", asked=False) == "pending"
    assert status_after_email_change("pending", asked=False) == "pending"
    assert status_after_email_change("unverified", asked=False) == "not_requested"
    assert status_after_email_change("not_requested", asked=False) == "not_requested"
    assert status_after_email_change("not_requested", asked=True) == "pending"


def test_outcomes_of_superseded_processes_are_ignored() -> None:
    current = process_ids.account_verification(ACCOUNT, 3)
    assert outcome_is_superseded(current, "pending", process_ids.account_verification(ACCOUNT))
    assert not outcome_is_superseded(current, "pending", current)
    assert not outcome_is_superseded(None, "pending", process_ids.account_verification(ACCOUNT))
    assert outcome_is_superseded(None, "not_requested", process_ids.account_verification(ACCOUNT))
    assert email_message_id("account-verification-acc_1", "run-1", "Multibill <no-reply@example.org>") == (
        "<account-verification-acc_1.run-1@example.org>"
    )
