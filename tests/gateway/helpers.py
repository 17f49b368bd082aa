"""Helpers shared by the gateway tests (imported by conftest.py and by helper processes)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.clock import ClockReading
from gateway.gatt import BloodPressureMeasurement
from gateway.readings import BuiltReading, DeviceIdentity, build_reading
from homevitals.contract import ReadingsBatch

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
ADDRESS = "A4:C1:38:00:11:22"


def bp_reading(
    systolic: float = 120,
    *,
    minutes_ago: float = 10,
    address: str = ADDRESS,
    now: datetime | None = None,
    diastolic: float = 80,
) -> BuiltReading:
    """A blood-pressure reading stamped ``minutes_ago`` by a correct device clock."""
    now = now or datetime.now(UTC)
    taken = (now - timedelta(minutes=minutes_ago)).astimezone(COPENHAGEN).replace(tzinfo=None, microsecond=0)
    measurement = BloodPressureMeasurement(systolic, diastolic, 93, timestamp=taken, pulse_rate=61, user_id=1)
    raw = bytes(measurement)
    return build_reading(
        BloodPressureMeasurement.from_bytes(raw),
        raw=raw,
        device=DeviceIdentity(address, manufacturer="A&D Medical", model="UA-651BLE"),
        gateway_time=now,
        clock=ClockReading(now.astimezone(COPENHAGEN).replace(tzinfo=None), now, COPENHAGEN),
        zone=COPENHAGEN,
    )


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool


@dataclass
class MqttCollector:
    """A real subscriber: every message on the gateway's topics, validated as it arrives."""

    port: int
    gateway_id: str
    validator: jsonschema.Draft202012Validator
    messages: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: mqtt.Client | None = None

    def start(self) -> MqttCollector:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-sub-{uuid.uuid4().hex[:8]}")
        subscribed = threading.Event()
        client.on_message = self._on_message
        client.on_subscribe = lambda *_args: subscribed.set()
        client.on_connect = lambda c, *_args: c.subscribe(f"homevitals/v1/gateways/{self.gateway_id}/#", qos=1)
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        assert subscribed.wait(10), "test subscriber did not subscribe"
        self._client = client
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        received = Received(message.topic, bytes(message.payload), bool(message.retain))
        if message.topic.endswith("/readings"):
            try:
                self.validator.validate(json.loads(received.payload))
                ReadingsBatch.model_validate_json(received.payload)
            except Exception as error:  # collected, asserted by the test
                self.errors.append(f"{error}")
        with self._lock:
            self.messages.append(received)

    def batches(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(m.payload) for m in self.messages if m.topic.endswith("/readings")]

    def readings(self) -> list[dict[str, Any]]:
        return [reading for batch in self.batches() for reading in batch["readings"]]

    def reading_ids(self) -> set[str]:
        return {reading["reading_id"] for reading in self.readings()}

    def statuses(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(m.payload) for m in self.messages if m.topic.endswith("/status")]

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")


