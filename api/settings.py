"""API configuration: ``API_*`` environment variables, read once at the edge.

``homevitals api run`` and ``homevitals api token`` build :class:`ApiSettings`; everything
below them takes plain values (:class:`api.auth.VerifierConfig`, a DSN, a pool size).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from api.auth import ASYMMETRIC_ALGORITHMS, DEV_HS256_SECRET, MIN_HS256_SECRET_BYTES, VerifierConfig
from homevitals.errors import ConfigurationError
from homevitals.settings import ServiceSettings


class ApiSettings(ServiceSettings):
    """Every setting of ``homevitals api``; docs/api.md has the table."""

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", env_file=None)

    database_url: str = Field(
        default="postgresql://localhost/homevitals",
        description="libpq URL; the login role should be a member of homevitals_api.",
    )
    host: str = Field(default="127.0.0.1", description="Address uvicorn listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port uvicorn listens on.")

    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 secret for development tokens. Unset in development: a published dev "
        "secret is used. In production HS256 is accepted only with a unique secret.",
    )
    jwks_url: str | None = Field(default=None, description="JWKS URL of the identity provider.")
    public_key_file: Path | None = Field(default=None, description="PEM public key (RS256/ES256).")
    issuer: str | None = Field(default=None, description="Required 'iss' claim.")
    audience: str | None = Field(default=None, description="Required 'aud' claim.")
    algorithms: list[str] = Field(
        default_factory=lambda: list(ASYMMETRIC_ALGORITHMS),
        description="Asymmetric algorithms accepted from the JWKS or key file.",
    )
    leeway_s: float = Field(default=30.0, ge=0, le=300, description="Clock skew allowed on exp/nbf.")
    dev_token_ttl_s: int = Field(default=12 * 3600, ge=60, description="Lifetime of dev tokens.")

    organisation: str = Field(default="homevitals", description="Organisation name (FHIR, reports).")
    public_base_url: str | None = Field(
        default=None, description="Base URL used in FHIR fullUrl/links; default: the request's."
    )
    pool_min_size: int = Field(default=2, ge=1, le=100)
    pool_max_size: int = Field(default=10, ge=1, le=200)
    statement_timeout_ms: int = Field(default=15_000, ge=100, description="Per SQL statement.")
    device_silent_after_h: float = Field(
        default=72.0, gt=0, description="A device not heard from for longer is 'silent'."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted for X-Forwarded-For (client address in the audit log).",
    )

    @field_validator("algorithms")
    @classmethod
    def _only_asymmetric(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ASYMMETRIC_ALGORITHMS))
        if unknown:
            raise ValueError(f"unsupported algorithm(s) {unknown}; use {list(ASYMMETRIC_ALGORITHMS)}")
        return value

    def hs256_secret(self) -> str | None:
        """The HS256 secret in force, or None when HS256 is off (production without a secret)."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return DEV_HS256_SECRET if self.environment == "development" else None

    def verifier_config(self) -> VerifierConfig:
        """Check the auth settings for this environment and turn them into plain values."""
        secret = self.hs256_secret()
        if secret is not None and len(secret.encode()) < MIN_HS256_SECRET_BYTES:
            raise ConfigurationError(
                "API_JWT_SECRET", f"must be at least {MIN_HS256_SECRET_BYTES} bytes (RFC 7518, 3.2)"
            )
        if self.environment == "production":
            if secret is not None:
                self.require_secret("API_JWT_SECRET", secret)
                if secret == DEV_HS256_SECRET:
                    raise ConfigurationError("API_JWT_SECRET", "is the published development secret")
            if secret is None and self.jwks_url is None and self.public_key_file is None:
                raise ConfigurationError(
                    "API_JWKS_URL",
                    "production needs API_JWKS_URL or API_PUBLIC_KEY_FILE (or a unique API_JWT_SECRET)",
                )
        if self.pool_min_size > self.pool_max_size:
            raise ConfigurationError("API_POOL_MIN_SIZE", "is larger than API_POOL_MAX_SIZE")
        public_key = None
        if self.public_key_file is not None:
            try:
                public_key = self.public_key_file.read_text(encoding="utf-8")
            except OSError as error:
                raise ConfigurationError("API_PUBLIC_KEY_FILE", f"cannot be read: {error}") from error
        return VerifierConfig(
            hs256_secret=secret,
            jwks_url=self.jwks_url,
            public_key_pem=public_key,
            issuer=self.issuer,
            audience=self.audience,
            algorithms=tuple(self.algorithms),
            leeway_s=self.leeway_s,
        )
