"""Fixtures of the ingest tests: a QoS 1 publisher, workers in-process and as real
``homevitals ingest run`` processes, against the harness's real Mosquitto and TimescaleDB."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from homevitals.mqtt_endpoint import MqttEndpoint
from ingest.consumer import BrokerConfig, forget_session
from ingest.service import IngestService
from ingest.settings import IngestSettings
from tests.ingest.helpers import Publisher, WorkerProcess


@pytest.fixture
def publisher(mosquitto: Any) -> Iterator[Publisher]:
    pub = Publisher(mosquitto.port)
    yield pub
    pub.close()


@pytest.fixture
def start_service() -> Iterator[Callable[..., IngestService]]:
    """Start an in-process worker; every one started is shut down at the end."""
    started: list[IngestService] = []

    def start(settings: IngestSettings) -> IngestService:
        service = IngestService(settings)
        service.start()
        started.append(service)
        assert service.consumer.wait_subscribed(15), "worker did not subscribe"
        return service

    yield start
    for service in started:
        if not service.stopping.is_set():
            service.shutdown()
        _forget(service.broker)


def _forget(broker: BrokerConfig) -> None:
    """Drop the test's persistent session, so the shared broker does not keep queueing for it."""
    with contextlib.suppress(OSError):
        forget_session(broker, timeout=2)


@pytest.fixture
def worker_process(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory of worker processes; all are killed at the end of the test."""
    workers: list[WorkerProcess] = []

    def make(dsn: str, port: int, *, client_id: str, group: str, **extra: str) -> WorkerProcess:
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
            **extra,
        }
        worker = WorkerProcess(env=env, log_path=tmp_path / f"{client_id}-{len(workers)}.log")
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.stop()
    for client_id in {w.env["INGEST_MQTT_CLIENT_ID"] for w in workers}:
        env = workers[0].env
        _forget(BrokerConfig(MqttEndpoint(host="127.0.0.1", port=int(env["INGEST_MQTT_PORT"]), client_id=client_id)))
