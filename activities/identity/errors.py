"""Why an identity request is refused: an HTTP status, a stable code and a human detail (the API turns
it into problem+json, the portal into a message on the page)."""

from __future__ import annotations


class Refused(Exception):
    def __init__(self, status: int, code: str, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


def invalid_credentials() -> Refused:
    return Refused(401, "invalid_credentials", "The e-mail or the password is wrong")
