"""The compose stack without Docker: every homevitals service of docker-compose.yml started as
a process, with the environment, commands and healthchecks written in the compose file.

What is not taken from the file is only what Docker would provide: host names and ports
(``mosquitto:1883``, ``timescaledb:5432`` become free ports on 127.0.0.1), bind-mount paths
(mapped back into the repository), and the data volumes (temporary folders). The broker runs
the shipped configuration with the dynsec file made by dynsec-init.sh from the
``mosquitto-init`` environment, then the ``broker-init`` job's command makes the accounts;
PostgreSQL authenticates the login users with SCRAM, as in the image.

So this proves that the file's values work together in production mode: the migrate job's
script, the login users and their grants, the MQTT accounts and ACL as the real services use
them, readings travelling from simulated homes through two ingest workers into the database,
every healthcheck command, and a clean stop within each service's stop_grace_period.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from deploy_support import DEPLOY, REPO_ROOT, environment_of, interpolate, load_compose, read_env_file
from mosquitto_support import Broker, shipped_broker

from devstack.services.ports import free_port, wait_for_port
from devstack.services.postgres import LocalPostgres
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VENV_BIN = Path(sys.executable).parent
# Two of the three homes: enough to show distinct accounts side by side on two shared CPU
# cores; the third is configured the same way (test_compose_consistency checks all three).
HOMES = ("sim-home-1", "sim-home-2")
WORKERS = ("ingest-1", "ingest-2")
LOGIN_USERS = ("ingest_service", "api_service", "grafana_reader")
SIM_SPEED = "3600"  # an hour of the household's life per second: readings within seconds


@dataclass
class Stack:
    services: dict[str, dict[str, Any]]
    broker: Broker
    postgres: LocalPostgres
    base: Path
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # -- Docker's part: names, ports, mounts -------------------------------------------------
    def mounted(self, service: str, text: str) -> str:
        """Container paths of bind mounts -> repository paths."""
        for volume in self.services[service].get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                text = text.replace(target, str((REPO_ROOT / source).resolve()))
        return text

    def environment(self, service: str) -> dict[str, str]:
        env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(self.base)}
        for key, value in environment_of(self.services[service]).items():
            if value is not None:
                env[key] = self._local(service, key, value)
        return env

    def _local(self, service: str, key: str, value: str) -> str:
        """One environment value, with Docker's names and ports replaced by local ones."""
        if key.endswith("_MQTT_HOST") and value == "mosquitto":
            return "127.0.0.1"
        if key == "API_BROKER_HOST" and value == "mosquitto":
            return "127.0.0.1"
        if key.endswith(("_MQTT_PORT", "API_BROKER_PORT")) and value == "1883":
            return str(self.broker.port)
        if key in {"INGEST_METRICS_PORT", "API_PORT"}:
            return str(self.ports.setdefault(service, free_port()))
        if key == "API_HOST":
            return "127.0.0.1"  # no need to listen beyond this machine in a test
        if key == "GATEWAY_DATA_DIR":
            return str(self.base / service)
        return value.replace("@timescaledb:5432/", f"@127.0.0.1:{self.postgres.port}/")

    def healthcheck(self, service: str) -> list[str]:
        test = [str(word) for word in self.services[service]["healthcheck"]["test"]]
        port = self.ports.get(service)
        if port is not None:
            test = [re.sub(r"127\.0\.0\.1:\d+/", f"127.0.0.1:{port}/", word) for word in test]
        if test[0] == "CMD-SHELL":
            return ["sh", "-c", test[1].replace("$$", "$")]
        return test[1:]

    def command(self, service: str) -> list[str]:
        return [self.mounted(service, str(word)) for word in self.services[service]["command"]]

    # -- processes -------------------------------------------------------------------------
    def start(self, service: str) -> None:
        log = (self.base / f"{service}.log").open("wb")
        self.processes[service] = subprocess.Popen(
            self.command(service), env=self.environment(service), stdout=log, stderr=subprocess.STDOUT,
            cwd=self.base,
        )
        log.close()

    def log(self, service: str) -> str:
        return (self.base / f"{service}.log").read_text(errors="replace")[-3000:]

    def run_healthcheck(self, service: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.healthcheck(service), env=self.environment(service), capture_output=True, text=True,
            timeout=30, check=False, cwd=self.base,
        )


def grace_seconds(service: dict[str, Any]) -> float:
    """stop_grace_period as Docker reads it (default 10 s)."""
    value = str(service.get("stop_grace_period", "10s"))
    match = re.fullmatch(r"(\d+)s", value)
    assert match, f"unexpected stop_grace_period {value}"
    return float(match.group(1))


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    base = Path(tempfile.mkdtemp(prefix="homevitals-compose-stack-"))
    env_file = base / ".env"
    subprocess.run(["sh", str(DEPLOY / "make-env.sh"), str(env_file)], check=True, capture_output=True)
    variables = {**read_env_file(env_file), "SIM_SPEED": SIM_SPEED}
    services: dict[str, dict[str, Any]] = interpolate(load_compose(), variables)["services"]
    init_env = {k: v for k, v in environment_of(services["mosquitto-init"]).items() if v is not None}

    with shipped_broker(init_env) as broker, LocalPostgres() as postgres:
        hba = postgres.data_dir / "pg_hba.conf"
        hba.write_text(f"host all {','.join(LOGIN_USERS)} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        postgres.execute("postgres", "SELECT pg_reload_conf()")
        running = Stack(services, broker, postgres, base)
        made = subprocess.run(
            running.command("broker-init"), env=running.environment("broker-init"), capture_output=True,
            text=True, timeout=120, check=False, cwd=base,
        )
        assert made.returncode == 0, f"broker-init:\n{made.stdout}\n{made.stderr}"
        try:
            yield running
        finally:
            for process in running.processes.values():
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)


def wait_for(what: str, check: Any, timeout: float, stack: Stack, services: tuple[str, ...]) -> Any:
    """Poll ``check`` while every service keeps running; the services' logs on a time-out."""

    def ready() -> Any:
        for name in services:
            process = stack.processes.get(name)
            assert process is None or process.poll() is None, f"{name} exited:\n{stack.log(name)}"
        return check()

    def described() -> str:
        logs = "\n".join(f"--- {name}\n{stack.log(name)}" for name in services)
        return f"{what}\n{logs}"

    return wait_until(ready, timeout, described, interval=0.5)


def test_the_migrate_job_runs_twice(stack: Stack) -> None:
    """`docker compose up` runs the job on every start: the second run changes nothing."""
    command = stack.command("migrate")
    for attempt in (1, 2):
        result = subprocess.run(
            command, env=stack.environment("migrate"), capture_output=True, text=True, timeout=300,
            check=False, cwd=stack.base,
        )
        assert result.returncode == 0, f"run {attempt}:\n{result.stdout}\n{result.stderr}"
    assert "nothing to do" in result.stdout
    assert result.stdout.count(" updated") == 3


def test_readings_flow_from_the_homes_through_both_workers(stack: Stack) -> None:
    started = (*WORKERS, "api", *HOMES)
    for service in started:
        stack.start(service)

    def stored() -> dict[str, int] | None:
        with psycopg.connect(stack.postgres.dsn) as connection:
            rows = connection.execute("SELECT gateway_id, count(*) FROM readings GROUP BY gateway_id").fetchall()
        counts = {str(gateway): int(n) for gateway, n in rows}
        return counts if set(counts) == set(HOMES) else None

    counts = wait_for("readings from every home", stored, 120, stack, started)
    assert all(n > 0 for n in counts.values())

    with psycopg.connect(stack.postgres.dsn) as connection:
        states = dict(connection.execute("SELECT gateway_id, state FROM gateways").fetchall())
    assert {home: states.get(home) for home in HOMES} == dict.fromkeys(HOMES, "online"), "status via the ACL"

    # Both workers hold a session on the shared subscription and took part.
    for worker in WORKERS:
        port = stack.ports[worker]
        wait_for_port("127.0.0.1", port, timeout=10)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            body = response.read().decode()
        assert "ingest_mqtt_connected 1.0" in body, f"{worker} is not subscribed"


def test_every_healthcheck_passes(stack: Stack) -> None:
    failing = dict.fromkeys((*WORKERS, "api", *HOMES), "")  # service -> its healthcheck's stderr

    def all_healthy() -> bool:
        running = {
            name: subprocess.Popen(
                stack.healthcheck(name), env=stack.environment(name), stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, cwd=stack.base,
            )
            for name in failing
        }
        for name, process in running.items():
            _, stderr = process.communicate(timeout=60)
            if process.returncode == 0:
                del failing[name]
            else:
                failing[name] = stderr.decode(errors="replace")
        return not failing

    wait_until(all_healthy, 90, lambda: "every healthcheck to pass:\n" + "\n".join(
        f"{name}: {stack.healthcheck(name)} failed\n{message}\n{stack.log(name)}"
        for name, message in failing.items()), interval=1)


def test_the_api_healthcheck_fails_while_the_database_is_down(stack: Stack) -> None:
    """The healthcheck means something: /readyz turns it red without the database."""
    stack.postgres.stop()
    try:
        result = stack.run_healthcheck("api")
        assert result.returncode != 0
    finally:
        stack.postgres.start()
    wait_until(lambda: stack.run_healthcheck("api").returncode == 0, 60,
               "the API to recover after the database came back", interval=1)


def test_every_service_stops_cleanly_within_its_grace_period(stack: Stack) -> None:
    assert stack.processes, "the flow test started the services"
    for process in stack.processes.values():
        process.send_signal(signal.SIGTERM)
    for name, process in stack.processes.items():
        grace = grace_seconds(stack.services[name])
        try:
            code = process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} still running {grace:.0f} s after SIGTERM (Docker would kill it)\n{stack.log(name)}")
        # uvicorn shuts down, then re-raises SIGTERM by design; everything else exits 0.
        graceful = code == 0 or (code == -signal.SIGTERM and "Application shutdown complete" in stack.log(name))
        assert graceful, f"{name} exited {code} on SIGTERM\n{stack.log(name)}"
