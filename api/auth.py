"""Bearer JWT verification and development tokens.

Production: RS256/ES256 tokens signed by the identity provider, verified against its JWKS
URL or a configured public key, with issuer and audience checks. Development: HS256 with a
shared secret (``API_JWT_SECRET``, never one written in code), minted by
``homevitals api token``. The algorithm is taken from a fixed list
per key type, never from the token alone, so an HS256 token cannot pass as RS256 and
``alg: none`` is never accepted.

Claims: ``sub`` (who), ``role`` (citizen|caregiver|clinician|admin), ``team`` (a caregiver's
care team), ``citizen`` (a citizen's own id), ``exp`` (required).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from api.errors import NotAuthenticated, ServiceUnavailable
from api.roles import Principal, Role
from homevitals.errors import ConfigurationError

# SHA-256 of HS256 secrets published in earlier versions of this file: anyone can sign with
# them, so they are refused in every environment (the digest keeps them out of the code).
PUBLISHED_HS256_SECRET_DIGESTS = frozenset(
    {"2a8b08d2a3ddab492a6403711193403f6382988219febe02d61f85d8a16b8a53"}
)
# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
MIN_HS256_SECRET_BYTES = 32
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
_KEY_TYPES: dict[str, type] = {"RS256": RSAPublicKey, "ES256": EllipticCurvePublicKey}


@dataclass(frozen=True)
class VerifierConfig:
    hs256_secret: str | None
    jwks_url: str | None = None
    public_key_pem: str | None = None
    issuer: str | None = None
    audience: str | None = None
    algorithms: tuple[str, ...] = ASYMMETRIC_ALGORITHMS
    leeway_s: float = 5.0


class TokenVerifier:
    """Turns an ``Authorization: Bearer`` token into a :class:`Principal`, or raises 401."""

    def __init__(self, config: VerifierConfig) -> None:
        self._config = config
        self._jwks = (
            jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300, timeout=5)
            if config.jwks_url
            else None
        )
        self._public_key: Any = None
        if config.public_key_pem is not None:
            try:
                self._public_key = load_pem_public_key(config.public_key_pem.encode())
            except ValueError as error:
                raise ConfigurationError(
                    "API_PUBLIC_KEY_FILE", f"is not a PEM public key: {error}"
                ) from error

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise NotAuthenticated(f"the bearer token is malformed: {error}") from error
        algorithm = header.get("alg")
        key = await self._key_for(algorithm, token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self._config.audience,
                issuer=self._config.issuer,
                leeway=self._config.leeway_s,
                options={
                    "require": ["exp", "sub", "role"],
                    "verify_aud": self._config.audience is not None,
                    "verify_iss": self._config.issuer is not None,
                },
            )
        except jwt.PyJWTError as error:
            raise NotAuthenticated(f"the bearer token was rejected: {error}") from error
        return principal_from_claims(claims)

    async def _key_for(self, algorithm: object, token: str) -> Any:
        if algorithm == "HS256":
            if self._config.hs256_secret is None:
                raise NotAuthenticated("HS256 tokens are not accepted by this server")
            return self._config.hs256_secret
        if algorithm not in self._config.algorithms:
            accepted = [*self._config.algorithms, *(["HS256"] if self._config.hs256_secret else [])]
            raise NotAuthenticated(f"token algorithm {algorithm!r} is not accepted; use one of {accepted}")
        if self._jwks is not None:
            jwks = self._jwks
            try:
                signing_key = await anyio.to_thread.run_sync(jwks.get_signing_key_from_jwt, token)
            except jwt.PyJWKClientConnectionError as error:
                raise ServiceUnavailable(
                    f"the identity provider's keys cannot be fetched: {error}"
                ) from error
            except jwt.PyJWTError as error:
                raise NotAuthenticated(f"no matching signing key: {error}") from error
            return signing_key.key
        if self._public_key is not None:
            if not isinstance(self._public_key, _KEY_TYPES[str(algorithm)]):
                raise NotAuthenticated(f"token algorithm {algorithm} does not match the configured key")
            return self._public_key
        raise NotAuthenticated(f"no key is configured for {algorithm} tokens")


def is_published_secret(secret: str) -> bool:
    return hashlib.sha256(secret.encode()).hexdigest() in PUBLISHED_HS256_SECRET_DIGESTS


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Validate the homevitals claims; a token without a usable scope is refused (401)."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise NotAuthenticated("the token has no 'sub' claim")
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise NotAuthenticated(f"the token's 'role' claim must be one of {[r.value for r in Role]}") from None
    team = claims.get("team")
    if team is not None and (not isinstance(team, str) or not team):
        raise NotAuthenticated("the token's 'team' claim must be a non-empty string")
    citizen = claims.get("citizen")
    citizen_id: int | None = None
    if citizen is not None:
        if isinstance(citizen, bool) or not isinstance(citizen, int | str) or not str(citizen).isdigit():
            raise NotAuthenticated("the token's 'citizen' claim must be a citizen id")
        citizen_id = int(citizen)
    if role is Role.CAREGIVER and team is None:
        raise NotAuthenticated("a caregiver token needs a 'team' claim (the care team)")
    if role is Role.CITIZEN and citizen_id is None:
        raise NotAuthenticated("a citizen token needs a 'citizen' claim (their citizen id)")
    return Principal(sub=sub, role=role, team=team, citizen_id=citizen_id)


def mint_dev_token(
    secret: str,
    *,
    role: Role,
    sub: str,
    team: str | None = None,
    citizen_id: int | None = None,
    ttl: timedelta = timedelta(hours=12),
    issuer: str | None = None,
    audience: str | None = None,
    now: datetime | None = None,
) -> str:
    """An HS256 token with the homevitals claims, for development and tests."""
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role.value,
        "iat": issued,
        "exp": issued + ttl,
    }
    if team is not None:
        claims["team"] = team
    if citizen_id is not None:
        claims["citizen"] = citizen_id
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    principal_from_claims({**claims, "role": role.value})  # refuse tokens the API would refuse
    return jwt.encode(claims, secret, algorithm="HS256")
