"""Helpers shared by the gateway tests (imported by conftest.py and by helper processes)."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.ack_tracker import HubAckPolicy
from gateway.allowlist import AllowedDevice, AllowList
from gateway.backends import BleBackend
from gateway.clock import ClockReading
from gateway.outbox import Outbox
from gateway.publisher import MqttConfig
from gateway.readings import BuiltReading, DeviceIdentity, build_reading
from gateway.service import GatewayService, ServiceConfig
from gateway.session import SessionConfig, SessionReport
from gatt import BloodPressureMeasurement
from homevitals.contract import ReadingsBatch
from homevitals.mqtt_endpoint import MqttEndpoint
from simulator.gateway_plugin import simulator_backend

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
        clock=ClockReading(now.astimezone(COPENHAGEN).replace(tzinfo=None, microsecond=0), now, COPENHAGEN,
                           fraction_s=now.microsecond / 1e6),
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
    expected_invalid: int = 0  # readings messages a test sends on purpose that fail validation
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




def expected_reading_ids(address: str, records: Any) -> set[str]:
    """The reading_ids of a virtual device's stored records (all stamped), computed independently."""
    from gatt import decode_characteristic
    from homevitals.contract import derive_reading_id

    ids = set()
    for record in records:
        measurement: Any = decode_characteristic(0x2A35, record.payload)
        ids.add(str(derive_reading_id(
            address=address, user_id=measurement.user_id, device_time=measurement.timestamp,
            gateway_first_seen=datetime.now(UTC), characteristic_uuid=0x2A35, raw=record.payload,
        )))
    return ids


def bp_device(device_id: str, address: str, **knobs: Any) -> dict[str, Any]:
    """A scenario entry for a blood-pressure monitor (simulator/scenario.py DeviceSpec)."""
    return {"id": device_id, "kind": "blood_pressure", "address": address, "model": "UA-651BLE",
            "manufacturer": "A&D Medical", "advertise_seconds": None, **knobs}


class ReportingGatewayService(GatewayService):
    """The service, keeping each session's report for the test to read (the package keeps none)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reports: list[SessionReport] = []

    def _after_session(self, report: SessionReport) -> None:
        self.reports.append(report)
        super()._after_session(report)


@dataclass
class RunningGateway:
    service: ReportingGatewayService
    simulation: Any  # simulator.runner.HouseholdSimulation
    backend: BleBackend
    outbox: Outbox
    allowlist: AllowList
    stop: asyncio.Event
    task: asyncio.Task[None]

    def device(self, key: str) -> Any:
        return self.simulation.device(key)


FAST_SESSION = SessionConfig(zone=COPENHAGEN, clock_tolerance=timedelta(seconds=60), connect_attempts=3,
                             backlog_idle_s=1.0, session_timeout_s=60)
FAST_SERVICE = ServiceConfig(gateway_id="gw-test", zone=COPENHAGEN, max_connections=2, reconnect_cooldown_s=2.0,
                             scan_stall_s=30, status_interval_s=1.0, batch_size=10, inflight_window=2,
                             batch_linger_s=0.2, shutdown_grace_s=2.0, session=FAST_SESSION,
                             hub_acks=HubAckPolicy(enabled=False))  # no ingest in these tests


@asynccontextmanager
async def gateway_running(
    scenario: dict[str, Any],
    broker_port: int,
    data_dir: Path,
    *,
    allow: list[str] | None = None,
    outbox_limit: int = 1000,
    start: bool = True,
    clock_synchronized: bool = True,
    **config: Any,
) -> AsyncIterator[RunningGateway]:
    """A HouseholdSimulation of ``scenario`` and a GatewayService reading it, in this process.

    ``allow``: addresses on the allow-list (default: every device of the scenario).
    """
    from simulator.runner import HouseholdSimulation
    from simulator.scenario import parse_scenario

    parsed = parse_scenario({"name": "test", "seed": 7, **scenario})
    allowlist = AllowList(data_dir / "allowlist.json")
    for address in allow if allow is not None else [d.address for d in parsed.devices]:
        allowlist.add(AllowedDevice(address=address.upper()))
    service_config = replace(FAST_SERVICE, **config)
    mqtt = MqttConfig(MqttEndpoint(host="127.0.0.1", port=broker_port, client_id=f"hv-{service_config.gateway_id}"),
                      reconnect_min_s=1, reconnect_max_s=1)
    async with HouseholdSimulation(parsed, speed=1.0) as simulation:
        backend = replace(simulator_backend(simulation.world), clock_synchronized=lambda: clock_synchronized)
        with Outbox.open(data_dir / "outbox.sqlite3", limit=outbox_limit) as outbox:
            service = ReportingGatewayService(service_config, backend, outbox=outbox, allowlist=allowlist,
                                              mqtt=mqtt)
            stop = asyncio.Event()
            task = asyncio.create_task(service.run(stop)) if start else asyncio.create_task(stop.wait())
            running = RunningGateway(service, simulation, backend, outbox, allowlist, stop, task)
            try:
                yield running
            finally:
                stop.set()
                await asyncio.wait_for(task, timeout=30)
