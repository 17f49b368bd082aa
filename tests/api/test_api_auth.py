"""Authentication: RS256 against a JWKS URL (served over real HTTP), ES256 from a key file,
HS256 for development, issuer/audience checks, claims, and the production settings rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from api_support import SECRET, bearer, make_settings, principals
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.app import create_app
from api.auth import TokenVerifier, VerifierConfig, mint_dev_token
from api.errors import NotAuthenticated, ServiceUnavailable
from api.roles import Role
from api.settings import ApiSettings
from homevitals.errors import ConfigurationError

ISS, AUD = "https://login.kommune.test", "homevitals"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def signed(key: Any, algorithm: str, kid: str | None = "k1", **claims: Any) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": "dr.hansen",
        "role": "clinician",
        "iss": ISS,
        "aud": AUD,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        **claims,
    }
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None},
        key,
        algorithm=algorithm,
        headers={"kid": kid} if kid else None,
    )


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    """An identity provider's JWKS endpoint on a real local HTTP server."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


def verifier(**config: Any) -> TokenVerifier:
    return TokenVerifier(VerifierConfig(**{"hs256_secret": None, "issuer": ISS, "audience": AUD, **config}))


async def test_rs256_from_jwks(jwks_url):
    principal = await verifier(jwks_url=jwks_url).verify(signed(RSA_KEY, "RS256"))
    assert (principal.sub, principal.role) == ("dr.hansen", Role.CLINICIAN)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"aud": "someone-else"}, "(?i)audience"),
        ({"iss": "https://evil.test"}, "(?i)issuer"),
        ({"exp": datetime(2020, 1, 1, tzinfo=UTC)}, "(?i)expired"),
        ({"kid": "unknown"}, "signing key"),
        ({"role": "superuser"}, "role"),
        ({"role": "caregiver"}, "team"),
        ({"role": "citizen", "citizen": "x1"}, "citizen"),
        ({"role": "citizen"}, "citizen"),
    ],
)
async def test_rs256_rejections(jwks_url, claims, message):
    kid = claims.pop("kid", "k1")
    with pytest.raises(NotAuthenticated, match=message):
        await verifier(jwks_url=jwks_url).verify(signed(RSA_KEY, "RS256", kid=kid, **claims))


async def test_hs256_is_refused_where_only_the_identity_provider_signs(jwks_url):
    token = mint_dev_token(SECRET, role=Role.ADMIN, sub="mallory", issuer=ISS, audience=AUD)
    with pytest.raises(NotAuthenticated, match="HS256 tokens are not accepted"):
        await verifier(jwks_url=jwks_url).verify(token)


async def test_alg_none_and_the_public_key_as_hmac_secret_are_refused():
    exp = int((datetime.now(UTC) + timedelta(minutes=1)).timestamp())
    claims = {"sub": "mallory", "role": "admin", "iss": ISS, "aud": AUD, "exp": exp}
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(NotAuthenticated, match="'none' is not accepted"):
        await verifier(hs256_secret=SECRET).verify(unsigned)
    # The classic confusion attack: HMAC-sign with the server's (public) RSA key.
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = b".".join(
        base64url(json.dumps(part).encode()) for part in ({"alg": "HS256", "typ": "JWT"}, claims)
    )
    forged = signing_input + b"." + base64url(hmac.new(pem, signing_input, hashlib.sha256).digest())
    with pytest.raises(NotAuthenticated, match="HS256 tokens are not accepted"):
        await verifier(public_key_pem=pem.decode()).verify(forged.decode())


def base64url(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


async def test_es256_from_a_key_file_through_the_app(tmp_path: Path, api_dsn, seeded):
    key_file = tmp_path / "idp.pem"
    key_file.write_bytes(
        EC_KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = make_settings(
        api_dsn, environment="production", jwt_secret=None, public_key_file=key_file, issuer=ISS, audience=AUD
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            good = await http.get(f"/api/v1/citizens/{seeded.anna}", headers=bearer(signed(EC_KEY, "ES256")))
            rsa_signed = await http.get("/api/v1/citizens", headers=bearer(signed(RSA_KEY, "RS256")))
            dev = await http.get("/api/v1/citizens", headers=bearer(principals(seeded)["admin"]))
    assert good.status_code == 200 and good.json()["id"] == seeded.anna
    assert rsa_signed.status_code == 401 and "does not match" in rsa_signed.json()["detail"]
    assert dev.status_code == 401  # production without API_JWT_SECRET: no HS256


async def test_unreachable_jwks_is_503_not_401():
    with pytest.raises(ServiceUnavailable):
        await verifier(jwks_url="http://127.0.0.1:9/jwks.json").verify(signed(RSA_KEY, "RS256"))


def test_production_refuses_unsafe_auth_settings(tmp_path: Path):
    def production(**values: Any) -> ApiSettings:
        return ApiSettings.model_validate({"environment": "production", **values})

    with pytest.raises(ConfigurationError, match="API_JWKS_URL"):
        production().verifier_config()
    with pytest.raises(ConfigurationError, match="API_JWT_SECRET"):
        production(jwt_secret="changeme").verifier_config()
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        ApiSettings.model_validate({"jwt_secret": "short"}).verifier_config()
    with pytest.raises(ConfigurationError, match="API_PUBLIC_KEY_FILE"):
        production(public_key_file=tmp_path / "missing.pem").verifier_config()
    only_idp = production(jwks_url="https://idp.test/jwks").verifier_config()
    assert only_idp.hs256_secret is None
