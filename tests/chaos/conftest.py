"""Fixtures of the chaos suite: factories of real gateway and ingest processes, all stopped
at the end, and the table of outcomes printed after the suite (``-s`` shows it live)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.chaos.chaos_support import TABLE_HEAD, GatewayProcess, Outcome
from tests.ingest.helpers import WorkerProcess

OUTCOMES: list[Outcome] = []


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    made: list[GatewayProcess] = []

    def make(gateway_id: str, broker_port: int, **extra_env: str) -> GatewayProcess:
        gateway = GatewayProcess(gateway_id, tmp_path / gateway_id, broker_port, dict(extra_env))
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.stop()


@pytest.fixture
def ingest_process(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """``homevitals ingest run`` with the shipped session defaults (clean session, hub acks)."""
    made: list[WorkerProcess] = []

    def make(dsn: str, port: int, *, client_id: str, group: str) -> WorkerProcess:
        env = {
            "INGEST_DATABASE_URL": dsn,
            "INGEST_MQTT_HOST": "127.0.0.1",
            "INGEST_MQTT_PORT": str(port),
            "INGEST_MQTT_CLIENT_ID": client_id,
            "INGEST_MQTT_SHARE_GROUP": group,
            "INGEST_MISSING_CHECK_INTERVAL_S": "0",
            "INGEST_DB_BACKOFF_MAX_S": "0.5",
            "INGEST_MQTT_BACKOFF_MAX_S": "0.5",
            "INGEST_LOG_LEVEL": "INFO",
        }
        worker = WorkerProcess(env=env, log_path=tmp_path / f"{client_id}-{len(made)}.log")
        made.append(worker)
        return worker

    yield make
    for worker in made:
        if worker.proc is not None and worker.proc.poll() is None:
            os.kill(worker.proc.pid, signal.SIGCONT)  # a paused one must be able to die
        worker.stop()


@pytest.fixture
def record() -> Callable[[Outcome], None]:
    def add(outcome: Outcome) -> None:
        OUTCOMES.append(outcome)
        print(f"\n{TABLE_HEAD}\n{outcome.line()}")

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if OUTCOMES:
        terminalreporter.write_sep("-", "chaos outcomes (docs/benchmarks.md)")
        terminalreporter.write_line(TABLE_HEAD)
        for outcome in OUTCOMES:
            terminalreporter.write_line(outcome.line())
