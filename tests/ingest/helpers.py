"""Helpers of the ingest tests: contract messages, a QoS 1 publisher, worker processes."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devstack.services.ports import free_port
from homevitals.contract import readings_topic, status_topic, utc_text
from homevitals.contract.example import EXAMPLE_BATCH
from ingest.settings import IngestSettings
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
HOMEVITALS = str(REPO / ".venv/bin/homevitals")


# -- messages ----------------------------------------------------------------------------
def reading(
    *,
    reading_id: str | None = None,
    measured_at: datetime | None = None,
    address: str = "A4:C1:38:00:11:22",
    user_id: int | None = 1,
    systolic: float | None = 128,
    diastolic: float | None = 82,
    pulse: float | None = 64,
    battery: int | None = None,
) -> dict[str, Any]:
    """A blood-pressure reading shaped like homevitals/contract/example.py."""
    r = copy.deepcopy(EXAMPLE_BATCH["readings"][0])
    at = measured_at or datetime.now(UTC) - timedelta(hours=1)
    r["reading_id"] = reading_id or str(uuid.uuid4())
    r["measured_at"] = utc_text(at)
    r["gateway_time"] = utc_text(datetime.now(UTC))
    r["device_time"] = at.strftime("%Y-%m-%dT%H:%M:%S")
    r["device"]["address"] = address
    r["user_id"] = user_id
    mean = None if systolic is None or diastolic is None else round((systolic + 2 * diastolic) / 3)
    r["values"] = {
        "systolic": systolic,
        "diastolic": diastolic,
        "mean_arterial_pressure": mean,
        "pulse_rate": pulse,
    }
    if battery is not None:
        r["battery_level"] = battery
    return r


def batch(gateway_id: str, readings: list[dict[str, Any]], batch_seq: int = 1) -> dict[str, Any]:
    return {
        "schema": "homevitals.readings.v1",
        "gateway_id": gateway_id,
        "batch_seq": batch_seq,
        "sent_at": utc_text(datetime.now(UTC)),
        "readings": readings,
    }


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def unique_gateway() -> str:
    return f"gw-{uuid.uuid4().hex[:10]}"


# -- publishing ----------------------------------------------------------------------------
class Publisher:
    """A QoS 1 publisher with a bounded in-flight window (mosquitto_pub is far too slow)."""

    def __init__(self, port: int, window: int = 100) -> None:
        self._window = threading.Semaphore(window)
        self._acked = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
        self.client.max_inflight_messages_set(window)
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_publish(self, *_args: Any) -> None:
        with self._lock:
            self._acked += 1
        self._window.release()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self._window.acquire()
        self.client.publish(topic, payload, qos=1, retain=retain)

    def readings(self, message: dict[str, Any], topic_gateway: str | None = None) -> None:
        self.publish(readings_topic(topic_gateway or message["gateway_id"]), encode(message))

    def status(self, gateway_id: str, status: dict[str, Any]) -> None:
        self.publish(status_topic(gateway_id), json.dumps(status).encode(), retain=True)

    @property
    def acked(self) -> int:
        with self._lock:
            return self._acked

    def wait_acked(self, count: int, timeout: float = 30) -> None:
        wait_until(lambda: self.acked >= count, timeout, lambda: f"broker acked {self.acked} of {count} publishes")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# -- workers ---------------------------------------------------------------------------------
def settings_for(dsn: str, port: int, **overrides: Any) -> IngestSettings:
    """Settings naming their own session and share group, so tests never share a queue."""
    values: dict[str, Any] = {
        "database_url": dsn,
        "mqtt_host": "127.0.0.1",
        "mqtt_port": port,
        "mqtt_client_id": f"test-ingest-{uuid.uuid4().hex[:8]}",
        "mqtt_share_group": f"t{uuid.uuid4().hex[:8]}",
        "metrics_port": 0,
        "missing_check_interval_s": 0,
        "db_backoff_max_s": 0.5,
        "mqtt_backoff_max_s": 0.5,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return IngestSettings(**values)


@dataclass
class WorkerProcess:
    """``homevitals ingest run`` as a real process, configured only through INGEST_* variables."""

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    metrics_port: int = field(default_factory=free_port)

    def start(self) -> WorkerProcess:
        env = {
            **os.environ,
            **self.env,
            "INGEST_METRICS_PORT": str(self.metrics_port),
            "INGEST_METRICS_HOST": "127.0.0.1",
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([HOMEVITALS, "ingest", "run"], env=env, stdout=log, stderr=log)
        wait_until(
            lambda: self.metric("ingest_mqtt_connected") == 1.0,
            30,
            lambda: f"worker to subscribe; log:\n{self.log_tail()}",
        )
        return self

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as response:
            return str(response.read().decode())

    def metric(self, name: str) -> float | None:
        try:
            text = self.metrics_text()
        except OSError:
            return None
        values = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith((name + " ", name + "{"))
        ]
        return sum(values) if values else None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 40) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Stream:
    """Publishes ``n`` single-reading messages from a few gateways in a background thread."""

    def __init__(self, publisher: Publisher, n: int, gateways: int = 5, rate: float = 400.0) -> None:
        self.publisher = publisher
        self.n = n
        self.ids = [unique_gateway() for _ in range(gateways)]
        self.rate = rate
        self.sent = 0
        self.acked_before = publisher.acked
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        base = datetime.now(UTC) - timedelta(days=1)
        started = time.monotonic()
        for i in range(self.n):
            gateway = self.ids[i % len(self.ids)]
            address = "02:00:00:00:{:02X}:{:02X}".format(*divmod(i % len(self.ids), 256))
            message = batch(
                gateway,
                [reading(measured_at=base + timedelta(seconds=i), address=address)],
                batch_seq=i // len(self.ids) + 1,
            )
            self.publisher.readings(message)
            self.sent += 1
            delay = started + (i + 1) / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def start(self) -> Stream:
        self.thread.start()
        return self

    def join(self, timeout: float = 60) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive()
        self.publisher.wait_acked(self.acked_before + self.n)
