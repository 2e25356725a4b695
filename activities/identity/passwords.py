"""Passwords: the NIST SP 800-63B rules (length 12 to 128, not a common or breached password, not the
e-mail), argon2id hashing with argon2-cffi, and a rehash when the hasher's parameters change."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.errors import RuleViolation

MIN_LENGTH = 12
MAX_LENGTH = 128

# Common and breached passwords long enough to pass the length rule (lower-cased); shorter ones are
# refused by the length already. Kept small and shipped with the code (no network lookup).
COMMON_PASSWORDS: frozenset[str] = frozenset(
    """
    password1234 password12345 password123456 passwordpassword password123! passw0rd1234 p@ssw0rd1234
    123456789012 1234567890123 12345678901234 123456789abc 1234567890qwerty 1234qwerasdf qwerty123456
    qwertyuiop12 qwertyuiop123 qwertyuiopasdf 1q2w3e4r5t6y 1qaz2wsx3edc zaq12wsxcde3 qazwsxedcrfv
    asdfghjkl123 asdfasdfasdf abc123456789 abcdefghijkl abcd1234abcd letmein12345 welcome12345
    welcome123456 administrator changeme1234 iloveyou1234 iloveyouiloveyou monkeymonkey football1234
    baseball1234 superman1234 princess1234 sunshine1234 dragon123456 master123456 starwars1234
    whatever1234 trustno1trustno1 correcthorsebatterystaple aaaaaaaaaaaa 111111111111 000000000000
    123123123123 987654321098 qwerty123qwerty iloveyou123! football123! password2024 password2025
    password2026 summer202526 winter202526 multibill123 multibill1234
    """.split()  # noqa: SIM905 (a word list reads better than a list literal)
)

_HASHER = PasswordHasher()


def password_problem(password: str, email: str) -> RuleViolation | None:
    """Why the password is refused (422 with a code), or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return RuleViolation("password_too_short", f"Use at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        return RuleViolation("password_too_long", f"Use at most {MAX_LENGTH} characters", field="password")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) <= 2:
        return RuleViolation(
            "password_too_common", "This password is too common or easy to guess", field="password"
        )
    if lowered == email.strip().lower() or lowered == email.strip().lower().partition("@")[0]:
        return RuleViolation("password_is_email", "The password may not be your e-mail", field="password")
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, a dummy check keeps the answer's timing the same."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


_DUMMY_HASH = _HASHER.hash("not a password: keeps unknown e-mails as slow as known ones")
