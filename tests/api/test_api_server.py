"""`homevitals api run` as a real uvicorn process, and `homevitals api token` from the shell."""

from __future__ import annotations

import json
import subprocess

import httpx
from api_support import api_env, api_server, audit_rows

from devstack.services.ports import free_port


def test_api_run_serves_real_http_with_a_cli_token(repo_root, api_dsn, seeded, db_dsn, tmp_path):
    env = api_env(api_dsn, free_port())
    token = subprocess.run(
        [
            str(repo_root / ".venv/bin/homevitals"),
            "api",
            "token",
            "--role",
            "caregiver",
            "--sub",
            "nurse.cli",
            "--team",
            "team-nord",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    with api_server(repo_root, env, tmp_path / "api.log") as server:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            assert http.get("/readyz").json() == {"status": "ready"}
            response = http.get(
                f"/api/v1/citizens/{seeded.anna}/readings",
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "cli-1"},
            )
            assert response.status_code == 200, response.text
            assert len(response.json()["items"]) == 4 and response.headers["x-request-id"] == "cli-1"
            assert http.get("/api/v1/citizens").status_code == 401
            assert "/fhir/Observation" in http.get("/openapi.json").json()["paths"]
    [row] = audit_rows(db_dsn)
    assert (row["actor"], row["role"], row["request_id"], row["client_address"]) == (
        "nurse.cli",
        "caregiver",
        "cli-1",
        "127.0.0.1",
    )
    lines = [json.loads(line) for line in server.logs.splitlines() if line.startswith("{")]
    assert any(
        line.get("event") == "request" and line.get("status") == 200 and line.get("request_id") == "cli-1"
        for line in lines
    )


def test_ready_needs_the_database_but_alive_does_not(repo_root, tmp_path):
    closed = free_port()
    env = api_env(f"postgresql://nobody@127.0.0.1:{closed}/homevitals?connect_timeout=1", free_port())
    with (
        api_server(repo_root, env, tmp_path / "api.log") as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        assert http.get("/healthz").status_code == 200
        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/problem+json"
        assert "database" in ready.json()["detail"]


def test_token_command_refuses_a_scope_less_caregiver(repo_root):
    result = subprocess.run(
        [str(repo_root / ".venv/bin/homevitals"), "api", "token", "--role", "caregiver", "--sub", "x"],
        env=api_env("postgresql://unused/db", 1),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "team" in result.stderr
