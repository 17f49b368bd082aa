"""API configuration: ``API_*`` environment variables, read once at the edge.

``homevitals api run`` and ``homevitals api token`` build :class:`ApiSettings`; everything
below them takes plain values (:class:`api.auth.VerifierConfig`, a DSN, a pool size).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from api.auth import ASYMMETRIC_ALGORITHMS, MIN_HS256_SECRET_BYTES, VerifierConfig, is_published_secret
from api.enrollment.service import EnrollmentPolicy
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
        description="HS256 secret (at least 32 bytes) for `homevitals api token` tokens. There is "
        "no built-in one: without it, API_JWKS_URL or API_PUBLIC_KEY_FILE the API does not start.",
    )
    jwks_url: str | None = Field(default=None, description="JWKS URL of the identity provider.")
    public_key_file: Path | None = Field(default=None, description="PEM public key (RS256/ES256).")
    issuer: str | None = Field(default=None, description="Required 'iss' claim.")
    audience: str | None = Field(default=None, description="Required 'aud' claim.")
    algorithms: list[str] = Field(
        default_factory=lambda: list(ASYMMETRIC_ALGORITHMS),
        description="Asymmetric algorithms accepted from the JWKS or key file.",
    )
    leeway_s: float = Field(
        default=5.0, ge=0, le=30, description="Clock skew allowed on exp/nbf: a few seconds at most."
    )
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
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of the reverse proxies whose "
        "X-Forwarded-For/-Proto are believed (the audited client address, HSTS). Default: none.",
    )
    hsts_max_age_s: int = Field(
        default=31_536_000, ge=0, description="Strict-Transport-Security max-age over TLS; 0: no HSTS."
    )
    forwarded_allow_ips: str | None = Field(
        default=None, description="Renamed to API_TRUSTED_PROXIES; setting it is an error."
    )

    # Gateway enrollment (docs/deployment.md, "Enrolling and revoking gateways"). The broker's
    # admin login is API_BROKER_* (api/broker/settings.py); these say what goes into a bundle.
    enroll_mqtt_host: str = Field(
        default="localhost", min_length=1, description="The broker's host name as gateways reach it."
    )
    enroll_mqtt_port: int = Field(default=1883, ge=1, le=65535, description="The broker's port for gateways.")
    enroll_mqtt_tls: bool = Field(default=False, description="Gateways connect with TLS (port 8883).")
    enroll_mqtt_ca_file: Path | None = Field(
        default=None, description="PEM CA put into every bundle (a broker certificate not from a public CA)."
    )
    enroll_code_ttl_h: float = Field(default=24.0, gt=0, le=24 * 30, description="Lifetime of a code.")
    enroll_redeem_per_minute: int = Field(
        default=10, ge=1, description="Wrong codes per client address per minute before 429."
    )
    enroll_redeem_per_minute_total: int = Field(
        default=60, ge=1, description="Wrong codes per minute from everyone before 429."
    )

    @field_validator(
        "jwt_secret", "jwks_url", "public_key_file", "issuer", "audience", "public_base_url",
        "enroll_mqtt_ca_file", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``API_ISSUER=`` (an empty line in .env, a compose pass-through) means unset, everywhere."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)"
                ) from None
        return ",".join(entries)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _renamed(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(
                "API_FORWARDED_ALLOW_IPS was renamed: set API_TRUSTED_PROXIES (default: no proxy)"
            )
        return value

    @field_validator("algorithms")
    @classmethod
    def _only_asymmetric(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ASYMMETRIC_ALGORITHMS))
        if unknown:
            raise ValueError(f"unsupported algorithm(s) {unknown}; use {list(ASYMMETRIC_ALGORITHMS)}")
        return value

    def hs256_secret(self) -> str | None:
        """The HS256 secret in force, or None when HS256 is off."""
        return self.jwt_secret.get_secret_value() if self.jwt_secret is not None else None

    def verifier_config(self) -> VerifierConfig:
        """Check the auth settings and turn them into plain values; no key at all is an error."""
        secret = self.hs256_secret()
        if secret is not None:
            if len(secret.encode()) < MIN_HS256_SECRET_BYTES:
                raise ConfigurationError(
                    "API_JWT_SECRET", f"must be at least {MIN_HS256_SECRET_BYTES} bytes (RFC 7518, 3.2)"
                )
            if is_published_secret(secret):
                raise ConfigurationError(
                    "API_JWT_SECRET", "is a published development secret; make one: openssl rand -hex 32"
                )
            self.require_secret("API_JWT_SECRET", secret)
        elif self.jwks_url is None and self.public_key_file is None:
            raise ConfigurationError(
                "API_JWT_SECRET",
                "no token key is configured, so no token could be verified. Set API_JWKS_URL or "
                "API_PUBLIC_KEY_FILE (the identity provider's keys), or API_JWT_SECRET (HS256, at "
                "least 32 bytes, e.g. `openssl rand -hex 32`) for development tokens",
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

    def enrollment_policy(self) -> EnrollmentPolicy:
        """What every bundle says about the broker, and the redeem limits."""
        ca_pem = None
        if self.enroll_mqtt_ca_file is not None:
            try:
                ca_pem = self.enroll_mqtt_ca_file.read_text(encoding="utf-8")
            except OSError as error:
                raise ConfigurationError("API_ENROLL_MQTT_CA_FILE", f"cannot be read: {error}") from error
            if "-----BEGIN CERTIFICATE-----" not in ca_pem:
                raise ConfigurationError("API_ENROLL_MQTT_CA_FILE", "is not a PEM certificate")
        return EnrollmentPolicy(
            mqtt_host=self.enroll_mqtt_host,
            mqtt_port=self.enroll_mqtt_port,
            mqtt_tls=self.enroll_mqtt_tls,
            mqtt_ca_pem=ca_pem,
            code_ttl=timedelta(hours=self.enroll_code_ttl_h),
            redeem_per_minute=self.enroll_redeem_per_minute,
            redeem_per_minute_total=self.enroll_redeem_per_minute_total,
        )
