"""OpenID Connect login (Authorization Code with PKCE) through Authlib's Starlette client.

Any provider that publishes a discovery document works (Keycloak, the municipality's own).
The role, team and citizen claims are the API's (api/auth.py); they may come in the ID
token or from the userinfo endpoint, and are checked by the API's ``principal_from_claims``.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from starlette.requests import Request

from api.auth import principal_from_claims
from api.roles import Principal
from web.settings import WebSettings

PROVIDER = "idp"
HOMEVITALS_CLAIMS = ("role", "team", "citizen")


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


async def finish_login(client: StarletteOAuth2App, request: Request) -> Principal:
    """Exchange the code (checking state, PKCE and the ID token) and map the claims."""
    token = await client.authorize_access_token(request)
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    if not all(name in claims for name in HOMEVITALS_CLAIMS[:1]):
        claims.update(await client.userinfo(token=token))
    return principal_from_claims(claims)
