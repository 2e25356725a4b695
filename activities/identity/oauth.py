"""OAuth 2.0 for the app with Authlib: the authorization-code grant with PKCE (S256 only) for public
clients, refresh tokens that rotate (a rotated refresh token presented again revokes the whole app
installation: it was stolen or replayed), and token revocation (RFC 7009).

One server per request, bound to that request's database session and clock. Each app installation is a
``subscriber_sessions`` row of kind 'app' (so the subscriber sees it among their devices and can sign it
out); its tokens are ``oauth_tokens`` rows keeping SHA-256 digests only. Access tokens live 15 minutes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Request, grants  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.errors import InvalidRequestError  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload  # type: ignore[import-untyped]
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from activities.identity.oauth_records import SCOPE, Code, PublicClient, Token
from activities.identity.sessions import digest
from domain.ids import new_id
from domain.subscribers import SessionKind
from models.identity import OAuthClient, OAuthCode, OAuthToken
from models.subscribers import SubscriberLogin, SubscriberSession

ACCESS_LIFETIME = timedelta(minutes=15)
REFRESH_LIFETIME = timedelta(days=90)
CODE_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class Answer:
    """What to send back: the status, the JSON body (or an empty one) and the headers (a Location)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class FormRequest(OAuth2Request):
    """The HTTP request as Authlib sees it: the query (authorize) or the form (token, revoke)."""

    def __init__(self, method: str, path: str, fields: dict[str, str], user_agent: str | None) -> None:
        # TLS ends at the ingress (api.forwarded): Authlib's transport check sees the public scheme.
        super().__init__(method, f"https://multibill.invalid{path}", headers={})
        self.payload = BasicOAuth2Payload(fields)
        self._fields = fields
        self.user_agent = user_agent

    @property
    def args(self) -> dict[str, str]:
        return self._fields

    @property
    def form(self) -> dict[str, str]:
        return self._fields


class S256Only(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def save_authorization_code(self, code: str, request: FormRequest) -> None:
        server: MultibillOAuth = self.server
        data = request.payload.data
        server.session.add(
            OAuthCode(
                id=new_id("oac"),
                client_id=request.client.get_client_id(),
                login_id=request.user.id,
                code_digest=digest(code),
                redirect_uri=data.get("redirect_uri") or request.client.get_default_redirect_uri() or "",
                scope=SCOPE,
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                created_at=server.now,
                expires_at=server.now + CODE_LIFETIME,
            )
        )
        server.session.flush()

    def query_authorization_code(self, code: str, client: PublicClient) -> Code | None:
        server: MultibillOAuth = self.server
        row = server.session.execute(
            select(OAuthCode).where(OAuthCode.code_digest == digest(code)).with_for_update()
        ).scalar_one_or_none()
        if row is None or row.client_id != client.get_client_id():
            return None
        if row.used_at is not None or row.expires_at <= server.now:
            return None
        return Code(row)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        authorization_code.row.used_at = self.server.now

    def authenticate_user(self, authorization_code: Code) -> SubscriberLogin | None:
        return self.server.session.get(SubscriberLogin, authorization_code.row.login_id)


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        server: MultibillOAuth = self.server
        row = server.session.execute(
            select(OAuthToken).where(OAuthToken.refresh_digest == digest(refresh_token)).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            return None
        if row.rotated_at is not None and row.revoked_at is None:
            server.revoke_installation(row.installation_id)  # reuse of a rotated token: all of it goes
            server.reuse_detected = True
            return None
        installation = server.session.get(SubscriberSession, row.installation_id)
        token = Token(row, server.now)
        if installation is None or installation.revoked_at is not None or token.is_revoked():
            return None
        return None if token.is_expired() else token

    def authenticate_user(self, refresh_token: Token) -> SubscriberLogin | None:
        installation = self.server.session.get(SubscriberSession, refresh_token.row.installation_id)
        return self.server.session.get(SubscriberLogin, installation.login_id) if installation else None

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.row.rotated_at = self.server.now


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        server: MultibillOAuth = self.server
        wanted = digest(token_string)
        row = server.session.execute(
            select(OAuthToken).where(
                or_(OAuthToken.access_digest == wanted, OAuthToken.refresh_digest == wanted)
            )
        ).scalar_one_or_none()
        return Token(row, server.now) if row is not None else None

    def revoke_token(self, token: Token, request: FormRequest) -> None:
        self.server.revoke_installation(token.row.installation_id)  # the app signs out


class MultibillOAuth(AuthorizationServer):
    def __init__(self, session: Session, organisation_id: str | None, now: datetime) -> None:
        super().__init__(scopes_supported=[SCOPE])
        self.session = session
        self.organisation_id = organisation_id
        self.now = now
        self.reuse_detected = False
        self.register_grant(CodeGrant, [S256Only(required=True)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Revocation)
        self.register_token_generator("default", self._generate)

    def query_client(self, client_id: str) -> PublicClient | None:
        row = self.session.get(OAuthClient, client_id or "")
        if row is None or row.revoked_at is not None:
            return None
        if self.organisation_id is not None and row.organisation_id != self.organisation_id:
            return None
        return PublicClient(row)

    def _generate(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "refresh_token": secrets.token_urlsafe(48),
            "expires_in": int(ACCESS_LIFETIME.total_seconds()),
            "scope": SCOPE,
        }

    def save_token(self, token: dict[str, Any], request: FormRequest) -> None:
        previous: Token | None = request.refresh_token
        login: SubscriberLogin = request.user
        if previous is not None:
            installation_id = previous.row.installation_id
        else:
            installation = SubscriberSession(
                id=new_id("ses"),
                organisation_id=login.organisation_id,
                login_id=login.id,
                kind=SessionKind.APP.value,
                token_digest=None,
                device_name=(request.user_agent or "App")[:200],
                user_agent=(request.user_agent or "")[:500] or None,
                created_at=self.now,
                last_seen_at=self.now,
                expires_at=self.now + REFRESH_LIFETIME,
            )
            self.session.add(installation)
            self.session.flush()
            installation_id = installation.id
        self.session.add(
            OAuthToken(
                id=new_id("oat"),
                installation_id=installation_id,
                client_id=request.client.get_client_id(),
                scope=SCOPE,
                access_digest=digest(token["access_token"]),
                refresh_digest=digest(token["refresh_token"]),
                created_at=self.now,
                access_expires_at=self.now + ACCESS_LIFETIME,
                refresh_expires_at=self.now + REFRESH_LIFETIME,
            )
        )
        self.session.execute(
            update(SubscriberSession)
            .where(SubscriberSession.id == installation_id)
            .values(last_seen_at=self.now, expires_at=self.now + REFRESH_LIFETIME)
        )
        self.session.flush()

    def revoke_installation(self, installation_id: str) -> None:
        self.session.execute(
            update(SubscriberSession)
            .where(SubscriberSession.id == installation_id, SubscriberSession.revoked_at.is_(None))
            .values(revoked_at=self.now)
        )
        self.session.execute(
            update(OAuthToken)
            .where(OAuthToken.installation_id == installation_id, OAuthToken.revoked_at.is_(None))
            .values(revoked_at=self.now)
        )

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return Answer(status, dict(body or {}), dict(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None
