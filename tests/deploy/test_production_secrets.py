"""No default secrets: with a published default in .env, the compose services refuse to start.

Each service is started as compose would start it (its environment, production mode by
default), with one secret replaced by a published default. It must exit with a configuration
error that names the variable, before it connects anywhere: the broker and database hosts
here are unreachable on purpose (127.0.0.1, port 9), so a service that does not check would
hang in its reconnect loop and time out.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from deploy_support import environment_of

pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent
UNREACHABLE = "127.0.0.1"


def launch(service: dict[str, Any], overrides: dict[str, str]) -> subprocess.Popen[str]:
    """Start the service's command with its compose environment, hosts unreachable."""
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin"}
    for key, value in environment_of(service).items():
        if value is not None:
            env[key] = value.replace("@timescaledb:5432/", f"@{UNREACHABLE}:9/")
        if key.endswith("_MQTT_HOST"):
            env[key] = UNREACHABLE
        elif key.endswith("_MQTT_PORT"):
            env[key] = "9"
    env.update(overrides)
    command = [str(word).replace("/scenarios/", "simulator/scenarios/") for word in service["command"]]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str], timeout: float) -> tuple[int | None, str]:
    """Exit code (None if still running after ``timeout``, then stopped) and stderr."""
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate(timeout=10)
        return None, stderr
    return process.returncode, stderr


@pytest.mark.parametrize(
    ("service_name", "variable", "default"),
    [
        ("ingest-1", "INGEST_MQTT_PASSWORD", "changeme"),
        ("api", "API_JWT_SECRET", "homevitals-development-only-hs256-secret"),  # once in api/auth.py
        ("api", "API_JWT_SECRET", "changeme"),
        ("sim-home-1", "GATEWAY_MQTT_PASSWORD", "secret"),
        ("sim-home-2", "GATEWAY_MQTT_PASSWORD", "homevitals"),
    ],
)
def test_a_published_default_secret_stops_the_service(
    resolved_services: dict[str, dict[str, Any]], service_name: str, variable: str, default: str
) -> None:
    code, stderr = finish(launch(resolved_services[service_name], {variable: default}), timeout=90)
    assert code is not None, f"{service_name} kept running with {variable}={default!r}: no production check"
    assert code == 2, f"{service_name}: exit {code}\n{stderr}"
    assert variable in stderr


def test_the_generated_secrets_pass_the_same_checks(resolved_services: dict[str, dict[str, Any]]) -> None:
    """Control: with make-env.sh's secrets the same start does not end in that refusal (the
    services keep trying to reach the unreachable broker or database). Started together:
    the refusals above come within seconds of start-up."""
    names = ("ingest-1", "api", "sim-home-1")
    processes = {name: launch(resolved_services[name], {}) for name in names}
    time.sleep(12)
    for name, process in processes.items():
        code, stderr = finish(process, timeout=0.1)
        assert code != 2, f"{name} refused its generated configuration:\n{stderr}"
