"""Fuzzing: the schemathesis command line against a real `homevitals api run`, authenticated.

Every operation of the served OpenAPI description is called with generated valid and invalid
input, each with a token of a role allowed to use it (tests/api/schemathesis.toml, which also
holds the bound on examples). No answer may be a 5xx, and every answer must match the spec:
status codes, content types and schemas. schemathesis exits non-zero on any failure.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import Server, api_env, api_server, seed, token

from devstack.services.ports import free_port
from devstack.services.postgres import LocalPostgres
from tests.support.database import create_database, drop_database
from tests.support.factories import NORD

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def fuzz_server(
    postgres_server: LocalPostgres, api_login: str, repo_root: Path, tmp_path: Path
) -> Iterator[Server]:
    name = f"t_api_fuzz_{os.getpid()}"
    dsn = create_database(postgres_server, name)
    seed(dsn)
    env = api_env(postgres_server.dsn_for(name, user=api_login), free_port())
    env["API_LOG_LEVEL"] = "WARNING"  # thousands of requests
    try:
        with api_server(repo_root, env, tmp_path / "api.log") as server:
            yield server
    finally:
        drop_database(postgres_server, name)


def test_schemathesis_run_finds_no_server_errors_and_no_spec_violations(
    fuzz_server: Server, repo_root: Path, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "FUZZ_TOKEN_ADMIN": token("admin", "fuzz.admin"),
        "FUZZ_TOKEN_CAREGIVER": token("caregiver", "fuzz.nurse", team=NORD),
        "FUZZ_TOKEN_CLINICIAN": token("clinician", "fuzz.doctor"),
        "SCHEMATHESIS_HOOKS": "",
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [
            str(repo_root / ".venv/bin/schemathesis"),
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"{fuzz_server.base_url}/openapi.json",
        ],
        env=env,
        cwd=tmp_path,  # schemathesis writes its cache and reports next to it
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    spec = httpx.get(f"{fuzz_server.base_url}/openapi.json", timeout=10).json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert f"Tested: {operations}" in result.stdout, result.stdout[-3000:]
