"""Issue 18, API: what a hostile or careless caller (or configuration) must not get.

Far-future readings in buckets, no fail-open without a key, security headers, a short
expiry leeway, trusted proxies only, audit rows for refusals that name a citizen indirectly,
existence of citizen ids not revealed, and empty issuer/audience settings meaning unset.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from api_support import (
    NORD,
    SECRET,
    api_env,
    api_server,
    audit_rows,
    bearer,
    insert_reading,
    make_settings,
    token,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from api.app import create_app
from api.settings import ApiSettings
from devstack.services.ports import free_port
from homevitals.errors import ConfigurationError

# Published in earlier versions of api/auth.py: anyone can sign with it.
PUBLISHED_DEV_SECRET = "homevitals-development-only-hs256-secret"


# ---- a reading dated 9999-12-31 ---------------------------------------------------------------


async def test_a_far_future_reading_does_not_break_bucketed_readings(client, seeded, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        far = insert_reading(
            conn,
            device_id=seeded.device_anna,
            citizen_id=seeded.anna,
            assignment_id=seeded.assignment_anna,
            measured_at=datetime(9999, 12, 31, 23, 30, tzinfo=UTC),
            systolic=300,
        )
        # As ingest stores a reading whose clock is far ahead (ingest/settings.py).
        conn.execute("UPDATE readings SET clock_in_future = true WHERE reading_id = %s", (far,))
    clinician = bearer(token("clinician", "dr.hansen"))
    for bucket in ("1h", "1d", "1w"):
        response = await client.get(
            f"/api/v1/citizens/{seeded.anna}/readings", params={"bucket": bucket}, headers=clinician
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        # Its time is not to be trusted: left out of the aggregates, like the dashboards do.
        assert sum(item["count"] for item in items) == len(seeded.anna_readings)
        assert all(item["metrics"]["systolic"]["max"] < 300 for item in items)
    raw = await client.get(f"/api/v1/citizens/{seeded.anna}/readings", headers=clinician)
    newest = raw.json()["items"][0]
    assert (newest["reading_id"], newest["clock_in_future"]) == (str(far), True)


# ---- no fail-open -----------------------------------------------------------------------------


def test_without_a_key_the_settings_refuse_and_say_what_to_set():
    for environment in ("development", "production"):
        with pytest.raises(ConfigurationError) as refused:
            ApiSettings.model_validate({"environment": environment}).verifier_config()
        message = str(refused.value)
        assert all(name in message for name in ("API_JWKS_URL", "API_PUBLIC_KEY_FILE", "API_JWT_SECRET"))


def test_api_run_without_a_key_refuses_to_start(repo_root):
    env = api_env("postgresql://unused/db", free_port())
    del env["API_JWT_SECRET"]
    result = subprocess.run(
        [str(repo_root / ".venv/bin/homevitals"), "api", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "API_JWT_SECRET" in result.stderr and "API_JWKS_URL" in result.stderr


async def test_the_once_published_development_secret_is_refused_everywhere(api_dsn):
    with pytest.raises(ConfigurationError, match="published"):
        make_settings(api_dsn, jwt_secret=PUBLISHED_DEV_SECRET).verifier_config()


def test_openapi_needs_no_key(repo_root):
    env = api_env("postgresql://unused/db", free_port())
    del env["API_JWT_SECRET"]
    result = subprocess.run(
        [str(repo_root / ".venv/bin/homevitals"), "api", "openapi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"/fhir/Observation"' in result.stdout


# ---- security headers -------------------------------------------------------------------------

COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def assert_common_headers(response: httpx.Response) -> None:
    for name, value in COMMON_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name, response.headers)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers


async def test_every_response_carries_the_security_headers(client, seeded):
    clinician = bearer(token("clinician", "dr.hansen"))
    answers = [
        await client.get(f"/api/v1/citizens/{seeded.anna}/readings", headers=clinician),
        await client.get(f"/fhir/Patient/{seeded.anna}", headers=clinician),
        await client.get(f"/api/v1/citizens/{seeded.anna}/reports/home-bp.html", headers=clinician),
        await client.get("/api/v1/citizens"),  # 401
        await client.get("/no/such/route"),  # 404
        await client.get("/healthz"),
        await client.get("/openapi.json"),
        await client.get("/docs"),
    ]
    for response in answers:
        assert_common_headers(response)
        assert response.headers["cache-control"] == "no-store", response.url
        assert "strict-transport-security" not in response.headers  # plain HTTP
    readings, _, report, *_, docs = answers
    assert readings.headers["content-security-policy"].startswith("default-src 'none'")
    # HTML pages: no inline script runs unless named by its hash.
    for page in (report, docs):
        policy = dict(
            part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
        )
        assert "unsafe-inline" not in policy.get("script-src", ""), policy
        assert policy["default-src"] == "'none'"
    assert "'sha256-" in docs.headers["content-security-policy"]


async def test_hsts_over_tls_only(settings, seeded):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as https:
            response = await https.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_a_mounted_web_page_and_an_error_page_get_the_headers_too(settings, seeded):
    """The web app will be mounted under /app: same-origin scripts and styles, nothing framed."""

    async def page(_request: Request) -> HTMLResponse:
        return HTMLResponse('<script src="/app/app.js"></script>')

    async def broken(_request: Request) -> HTMLResponse:
        raise RuntimeError("a bug")

    app = create_app(settings)
    app.mount("/app", Starlette(routes=[Route("/", page), Route("/broken", broken)]))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            html = await http.get("/app/")
            error = await http.get("/app/broken")
    assert html.status_code == 200 and error.status_code == 500
    for response in (html, error):
        assert_common_headers(response)
        assert response.headers["cache-control"] == "no-store"
    policy = html.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy


# ---- expiry leeway ----------------------------------------------------------------------------


async def test_an_expired_token_is_refused_after_a_few_seconds(client, seeded):
    now = datetime.now(UTC)
    claims = {
        "sub": "dr.late",
        "role": "clinician",
        "iss": "https://idp.test.homevitals",
        "aud": "homevitals-api",
        "iat": now - timedelta(minutes=5),
        "exp": now - timedelta(seconds=10),
    }
    expired = jwt.encode(claims, SECRET, algorithm="HS256")
    response = await client.get(f"/api/v1/citizens/{seeded.anna}", headers=bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert ApiSettings.model_fields["leeway_s"].default <= 5


# ---- trusted proxies, real uvicorn ------------------------------------------------------------


def test_forwarded_headers_count_only_from_configured_proxies(repo_root, api_dsn, seeded, db_dsn, tmp_path):
    reader = token("clinician", "dr.proxy")
    forwarded = {**bearer(reader), "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    url = f"/api/v1/citizens/{seeded.anna}"
    env = api_env(api_dsn, free_port())
    with api_server(repo_root, env, tmp_path / "untrusted.log") as server:
        untrusted = httpx.get(server.base_url + url, headers={**forwarded, "X-Request-ID": "untrusted"})
    env = {**api_env(api_dsn, free_port()), "API_TRUSTED_PROXIES": "127.0.0.1"}
    with api_server(repo_root, env, tmp_path / "trusted.log") as server:
        trusted = httpx.get(server.base_url + url, headers={**forwarded, "X-Request-ID": "trusted"})
    assert untrusted.status_code == trusted.status_code == 200
    addresses = {row["request_id"]: row["client_address"] for row in audit_rows(db_dsn)}
    assert addresses == {"untrusted": "127.0.0.1", "trusted": "203.0.113.7"}
    assert "strict-transport-security" not in untrusted.headers
    assert trusted.headers["strict-transport-security"] == "max-age=31536000"
    for response in (untrusted, trusted):
        assert_common_headers(response)  # over real uvicorn: no `server: uvicorn` either


# ---- audit gaps and existence -----------------------------------------------------------------


async def test_a_caregivers_gateway_list_is_audited(client, seeded, db_dsn):
    nurse = bearer(token("caregiver", "nurse.nord", team=NORD))
    response = await client.get("/api/v1/gateways", headers=nurse)
    assert [g["gateway_id"] for g in response.json()["items"]] == [seeded.gateway_nord]
    [row] = audit_rows(db_dsn, actor="nurse.nord")
    assert (row["action"], row["resource"], row["outcome"]) == ("read", "gateways", "ok")
    assert row["details"]["citizen_ids"] == [seeded.anna]


def denied_rows(db_dsn: str, actor: str) -> list[tuple[Any, ...]]:
    return [(row["citizen_id"], row["resource"]) for row in audit_rows(db_dsn, actor=actor, outcome="denied")]


async def test_refusals_that_name_a_citizen_indirectly_are_audited(client, seeded, db_dsn):
    nurse = bearer(token("caregiver", "nurse.nord", team=NORD))
    anna_reading = seeded.anna_readings[0]
    refused = {
        f"/api/v1/devices/{seeded.device_carl}": seeded.carl,
        f"/fhir/Device/{seeded.device_anna}": seeded.anna,
        f"/fhir/Observation/bp-{anna_reading}": seeded.anna,
        f"/api/v1/assignments?citizen_id={seeded.carl}": seeded.carl,
    }
    for path, citizen in refused.items():
        response = await client.get(path, headers=nurse)
        assert response.status_code == 403, (path, response.text)
        # The refusal does not tell whose device or reading it was.
        if "citizen_id=" not in path:
            assert "citizen_id" not in response.json(), (path, response.json())
        assert denied_rows(db_dsn, "nurse.nord")[-1][0] == citizen, path
    anna = bearer(token("citizen", "anna.andersen", citizen=seeded.anna))
    response = await client.get(f"/api/v1/assignments?citizen_id={seeded.carl}", headers=anna)
    assert response.status_code == 403
    assert denied_rows(db_dsn, "anna.andersen") == [(seeded.carl, "assignments")]


def without_ids(body: dict[str, Any], *ids: int) -> dict[str, Any]:
    """The problem document with the caller's own request data taken out."""
    text = repr({k: v for k, v in body.items() if k not in ("request_id", "instance")})
    for value in ids:
        text = re.sub(rf"\b{value}\b", "ID", text)
    return {"body": text}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/citizens/{id}",
        "/api/v1/citizens/{id}/readings",
        "/api/v1/citizens/{id}/thresholds",
        "/fhir/Observation?patient={id}",
    ],
)
async def test_a_forbidden_citizen_and_a_missing_one_look_the_same(client, seeded, db_dsn, path):
    caller = bearer(token("caregiver", "nurse.nord", team=NORD))  # team-nord: Carl is in team-syd
    missing_id = 987654
    existing = await client.get(path.format(id=seeded.carl), headers=caller)
    missing = await client.get(path.format(id=missing_id), headers=caller)
    assert existing.status_code == missing.status_code == 403
    assert without_ids(existing.json(), seeded.carl) == without_ids(missing.json(), missing_id)
    assert [c for c, _ in denied_rows(db_dsn, "nurse.nord")] == [seeded.carl, missing_id]


# ---- empty issuer / audience ------------------------------------------------------------------


def test_empty_issuer_and_audience_mean_unset_for_the_cli_and_the_api(repo_root, api_dsn, seeded, tmp_path):
    env = {**api_env(api_dsn, free_port()), "API_ISSUER": "", "API_AUDIENCE": ""}
    minted = subprocess.run(
        [str(repo_root / ".venv/bin/homevitals"), "api", "token", "--role", "clinician", "--sub", "dr.empty"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    claims = jwt.decode(minted, options={"verify_signature": False})
    assert "iss" not in claims and "aud" not in claims
    settings = ApiSettings.model_validate({"jwt_secret": SECRET, "issuer": " ", "audience": ""})
    assert (settings.issuer, settings.audience) == (None, None)
    with api_server(repo_root, env, tmp_path / "api.log") as server:
        response = httpx.get(f"{server.base_url}/api/v1/citizens/{seeded.anna}", headers=bearer(minted))
    assert response.status_code == 200, response.text
