"""The web app's settings: ``API_OIDC_*`` and ``API_WEB_*``, read once at the edge.

The web app runs in the API's process, so it shares the ``API_`` prefix; the API's own
settings (database, organisation, environment) stay in :class:`api.settings.ApiSettings`.
"""

from __future__ import annotations

import secrets

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from api.roles import Role
from homevitals.errors import ConfigurationError
from homevitals.settings import ServiceSettings


class DevUser(BaseModel):
    """One person the development login offers (the demo's nurse and citizen)."""

    sub: str = Field(min_length=1, max_length=100)
    role: Role
    name: str = Field(min_length=1, max_length=100, description="Shown on the login page.")
    team: str | None = None
    citizen: int | None = None


class WebSettings(ServiceSettings):
    """Every setting of the web app; docs/web.md has the table."""

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", env_file=None)

    web_enabled: bool = Field(default=True, description="Serve the web app under /app.")
    oidc_discovery_url: str | None = Field(
        default=None,
        description="The identity provider's /.well-known/openid-configuration URL. Unset: no OIDC login.",
    )
    oidc_client_id: str | None = Field(default=None, description="Client id registered at the provider.")
    oidc_client_secret: SecretStr | None = Field(default=None, description="Client secret (confidential).")
    oidc_scope: str = Field(
        default="openid profile", description="Scopes asked for; the role/team/citizen claims must come."
    )
    web_dev_login: bool = Field(
        default=False,
        description="Offer the development login (no password). Refused in production.",
    )
    web_dev_users: list[DevUser] = Field(
        default_factory=list, description="JSON list of the people the development login offers."
    )
    web_session_hours: float = Field(default=8.0, gt=0, le=24 * 7, description="Lifetime of a session.")
    web_cookie_secret: SecretStr | None = Field(
        default=None,
        description="Signs the short-lived login-flow cookie (OIDC state, PKCE verifier). "
        "Development: random per process. Production: required.",
    )

    @model_validator(mode="after")
    def _oidc_complete(self) -> WebSettings:
        if self.oidc_discovery_url and not self.oidc_client_id:
            raise ValueError("API_OIDC_CLIENT_ID is needed with API_OIDC_DISCOVERY_URL")
        return self

    def check(self) -> None:
        """Refuse combinations that must not run in production; say what to set instead."""
        if self.environment != "production":
            return
        if self.web_dev_login:
            raise ConfigurationError(
                "API_WEB_DEV_LOGIN", "logs anyone in without a password; unset it in production"
            )
        if self.web_enabled and not self.oidc_discovery_url:
            raise ConfigurationError(
                "API_OIDC_DISCOVERY_URL", "production needs an OpenID Connect provider for the web login"
            )
        secret = self.web_cookie_secret.get_secret_value() if self.web_cookie_secret else None
        self.require_secret("API_WEB_COOKIE_SECRET", secret)

    def cookie_secret(self) -> str:
        if self.web_cookie_secret is not None:
            return self.web_cookie_secret.get_secret_value()
        return secrets.token_urlsafe(32)
