"""The rows behind Authlib's models (activities/identity/oauth.py): clients, authorization codes and
tokens, wrapped in the small mixins Authlib asks for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin  # type: ignore[import-untyped]

from models.identity import OAuthClient, OAuthCode, OAuthToken

SCOPE = "self-service"  # the app acts as the subscriber on /v1/me/…; one scope for now


@dataclass
class PublicClient(ClientMixin):
    """A registered public client: no secret, PKCE with S256, redirect URIs matched exactly."""

    row: OAuthClient

    def get_client_id(self) -> str:
        return self.row.id

    def get_default_redirect_uri(self) -> str | None:
        uris = list(self.row.redirect_uris or [])
        return str(uris[0]) if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return SCOPE

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in (self.row.redirect_uris or [])

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # a public client has none

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code(AuthorizationCodeMixin):
    row: OAuthCode

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


@dataclass
class Token(TokenMixin):
    row: OAuthToken
    now: datetime

    def check_client(self, client: PublicClient) -> bool:
        return bool(client.get_client_id() == self.row.client_id)

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.access_expires_at - self.row.created_at).total_seconds())

    def is_expired(self) -> bool:
        return self.row.refresh_expires_at <= self.now

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None
