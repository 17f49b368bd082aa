"""Fixtures of the deployment tests."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from deploy_support import DEPLOY, interpolate, load_compose, read_env_file


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """docker-compose.yml as written (anchors merged, variables not yet resolved)."""
    return load_compose()


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="session")
def operator_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The .env an operator gets from deploy/make-env.sh (fresh random secrets)."""
    env_file = tmp_path_factory.mktemp("env") / ".env"
    subprocess.run(["sh", str(DEPLOY / "make-env.sh"), str(env_file)], check=True, capture_output=True)
    return read_env_file(env_file)


@pytest.fixture(scope="session")
def resolved_services(compose: dict[str, Any], operator_env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The services with every ${VAR} resolved against that .env, as compose would."""
    resolved: dict[str, dict[str, Any]] = interpolate(compose, operator_env)["services"]
    return resolved
