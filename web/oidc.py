"""OpenID Connect login (Authorization Code with PKCE) through Authlib's Starlette client.

Any provider that publishes a discovery document works (Keycloak, the municipality's own).
The role, team and citizen claims are the API's (api/auth.py); they may come in the ID
token or from the userinfo endpoint, and are checked by the API's ``principal_from_claims``.

Authlib checks what the flow must: ``state`` against the one kept in the signed flow cookie
(CSRF on the callback), the ID token's signature, issuer, audience and ``nonce``, and sends
the PKCE verifier with the code (the provider refuses the code without it). Each refusal
becomes a :class:`LoginRefused` that the login page shows in words a nurse can act on.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import httpx2
import structlog
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc.errors import JoseError
from starlette.requests import Request

from api.auth import principal_from_claims
from api.errors import NotAuthenticated
from api.roles import Principal
from homevitals.errors import HomevitalsError
from web.settings import WebSettings

log = structlog.get_logger()
PROVIDER = "idp"
ROLE_CLAIM = "role"


class LoginFailure(StrEnum):
    """Why an OIDC login was refused; each has its own message on the login page."""

    STATE = "state"  # the callback does not belong to a login this browser started
    ID_TOKEN = "id_token"  # noqa: S105 - the ID token's signature, issuer, audience, expiry or nonce
    PROVIDER = "provider"  # the provider refused (an error redirect, or the code exchange)
    CLAIMS = "claims"  # logged in, but without a usable role/team/citizen claim
    UNREACHABLE = "unreachable"  # the provider could not be reached

    @property
    def message_key(self) -> str:
        return f"login.refused.{self.value}"


class LoginRefused(HomevitalsError):
    """An OIDC callback that did not establish a session, with the reason and its detail."""

    def __init__(self, reason: LoginFailure, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"OIDC login refused ({reason.value}): {detail}")


def register_provider(settings: WebSettings) -> StarletteOAuth2App | None:
    if not settings.oidc_discovery_url:
        return None
    oauth = OAuth()
    client: StarletteOAuth2App = oauth.register(
        PROVIDER,
        server_metadata_url=settings.oidc_discovery_url,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None,
        client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256"},
    )
    return client


async def start_login(client: StarletteOAuth2App, request: Request, redirect_uri: str) -> Any:
    """The redirect to the provider; state, nonce and the PKCE verifier go in the flow cookie."""
    return await client.authorize_redirect(request, redirect_uri)


async def provider_logout_url(client: StarletteOAuth2App, back_to: str) -> str | None:
    """The provider's end-session URL (RP-initiated logout), or None if it has none.

    Without it, a shared tablet stays logged in at the provider: the next "Log ind" would
    return the previous nurse without asking. The provider sends the browser to ``back_to``.
    """
    try:
        result = await client.create_logout_url(post_logout_redirect_uri=back_to, client_id=client.client_id)
    except RuntimeError:  # Authlib: the discovery document names no end_session_endpoint
        return None
    except httpx2.HTTPError as error:  # the session here is ended already; say so, don't fail
        log.warning("web logout: provider unreachable, its session stays", error=repr(error))
        return None
    url: str = result["url"]
    return url


def _oauth_detail(error: OAuthError) -> str:
    return ": ".join(part for part in (error.error, error.description) if part) or type(error).__name__


async def finish_login(client: StarletteOAuth2App, request: Request) -> Principal:
    """Exchange the code (checking state, PKCE and the ID token) and map the claims."""
    try:
        token = await client.authorize_access_token(request)
        claims: dict[str, Any] = dict(token.get("userinfo") or {})
        if ROLE_CLAIM not in claims:  # providers that keep custom claims out of the ID token
            claims.update(await client.userinfo(token=token))
    except MismatchingStateError as error:
        raise LoginRefused(LoginFailure.STATE, _oauth_detail(error)) from error
    except OAuthError as error:
        raise LoginRefused(LoginFailure.PROVIDER, _oauth_detail(error)) from error
    except JoseError as error:
        raise LoginRefused(LoginFailure.ID_TOKEN, f"{error.error}: {error.description}") from error
    except httpx2.HTTPError as error:
        raise LoginRefused(LoginFailure.UNREACHABLE, repr(error)) from error
    try:
        return principal_from_claims(claims)
    except NotAuthenticated as error:
        raise LoginRefused(LoginFailure.CLAIMS, error.detail) from error
