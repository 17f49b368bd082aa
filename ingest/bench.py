"""``homevitals bench ingest``: the ingest benchmark (docs/benchmarks.md#ingest).

Against a real Mosquitto and a real PostgreSQL with TimescaleDB (started here, or given), for
each message size (1 reading per message, and 20):

1. **ingest**: a real ``python -m ingest run`` worker process; P publisher processes simulate
   G gateways and publish N readings as QoS 1 contract messages with a bounded in-flight
   window. Measured: stored readings/s from the first publish to the last commit, publish ->
   commit latency (each reading's ``gateway_time`` is stamped when its message is sent, so
   the worker's ``ingest_lag_seconds`` histogram is exactly that), CPU per process, and the
   exact count in the database (no reading lost, none twice).
2. **naive**: the same messages (a prefix, it is slow) into a subscriber that does one
   INSERT per reading in autocommit, acking on return: the baseline.
3. **copy**: the same rows COPYed straight into ``readings``: the ceiling.

``homevitals bench writer`` compares ways of writing the same batches (no MQTT).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from database.migrate import migrate
from devstack.services.mosquitto import LocalMosquitto
from devstack.services.ports import free_port
from devstack.services.postgres import LocalPostgres
from homevitals.contract import readings_topic
from ingest.envelope import Envelope
from ingest.validation import PreparedReading, ValidBatch, validate_message
from ingest.writer import BatchWriter

# Stamped into each message at send time (same length as every real UTC timestamp below).
PLACEHOLDER = b"2000-01-01T00:00:00.000000Z"
_NAMESPACE = uuid.UUID("3f4b8c52-0d3a-4a8e-9b1e-6a7f0c2d1e55")
_TICKS = os.sysconf("SC_CLK_TCK")


def _utc_stamp() -> bytes:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()


# -- the messages ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Fleet:
    """G gateways with D devices each; every device is assigned to its own citizen."""

    gateways: int
    devices_per_gateway: int = 4
    prefix: str = "gw-bench"

    def gateway_id(self, g: int) -> str:
        return f"{self.prefix}-{g:04d}"

    def address(self, g: int, d: int) -> str:
        n = g * self.devices_per_gateway + d
        return "02:00:" + ":".join(f"{(n >> shift) & 0xFF:02X}" for shift in (24, 16, 8, 0))


def generate_messages(
    fleet: Fleet, gateway_ids: range, readings_per_gateway: int, per_message: int, seed: int
) -> list[tuple[str, bytes]]:
    """Deterministic contract-v1 messages (topic, payload with placeholders) for some gateways.

    The same arguments give the same bytes, so every contender gets the same messages.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    base = datetime(2026, 1, 5, tzinfo=UTC)
    messages: list[tuple[str, bytes]] = []
    placeholder = PLACEHOLDER.decode()
    for g in gateway_ids:
        gateway_id = fleet.gateway_id(g)
        for seq, first in enumerate(range(0, readings_per_gateway, per_message)):
            readings = []
            for i in range(first, min(first + per_message, readings_per_gateway)):
                d = i % fleet.devices_per_gateway
                systolic = rng.randint(95, 175)
                diastolic = rng.randint(55, min(systolic - 10, 110))
                measured = base + timedelta(minutes=g * 7, seconds=i * 61)
                readings.append(
                    {
                        "reading_id": str(uuid.uuid5(_NAMESPACE, f"{seed}/{g}/{i}")),
                        "kind": "blood_pressure",
                        "device": {
                            "address": fleet.address(g, d),
                            "serial": f"50{g:04d}{d}",
                            "manufacturer": "A&D Medical",
                            "model": "UA-651BLE",
                            "firmware": "1.2",
                        },
                        "user_id": 1,
                        "device_time": measured.strftime("%Y-%m-%dT%H:%M:%S"),
                        "gateway_time": placeholder,
                        "measured_at": measured.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "time_source": "device",
                        "unit": "mmHg",
                        "values": {
                            "systolic": systolic,
                            "diastolic": diastolic,
                            "mean_arterial_pressure": (systolic + 2 * diastolic) // 3,
                            "pulse_rate": rng.randint(50, 95),
                        },
                        "status": {
                            "body_movement": False,
                            "cuff_fit_loose": False,
                            "irregular_pulse": False,
                            "pulse_rate_range": "in_range",
                            "improper_position": False,
                        },
                        "invalid_values": [],
                        "battery_level": 80,
                        "raw": {"uuid": "2a35", "hex": f"1e{systolic:02x}00{diastolic:02x}00"},
                    }
                )
            payload = {
                "schema": "homevitals.readings.v1",
                "gateway_id": gateway_id,
                "batch_seq": seq,
                "sent_at": placeholder,
                "readings": readings,
            }
            messages.append((readings_topic(gateway_id), json.dumps(payload, separators=(",", ":")).encode()))
    return messages


@dataclass(frozen=True)
class PublisherSpec:
    index: int
    fleet: Fleet
    gateways: tuple[int, int]  # range start, stop
    readings_per_gateway: int
    per_message: int
    seed: int
    host: str
    port: int
    window: int = 200
    limit_messages: int | None = None
    messages_per_s: float | None = None  # None: as fast as the window allows


def _interleave(messages: list[tuple[str, bytes]], gateways: int) -> list[tuple[str, bytes]]:
    # Gateways publish side by side, not one after the other; per gateway order is kept.
    per = len(messages) // max(1, gateways)
    if per == 0:
        return messages
    lanes = [messages[i * per : (i + 1) * per] for i in range(gateways)]
    rest = messages[gateways * per :]
    return [m for group in zip(*lanes, strict=True) for m in group] + rest


def publisher_main(spec: PublisherSpec, ready: Any, start: Any, results: Any) -> None:
    """One publisher process: its own gateways, QoS 1, at most ``window`` messages in flight.

    Single-threaded (publish, then read PUBACKs with paho's loop in the same thread): a
    network thread beside the publishing one costs the machine a lot of GIL hand-overs, and
    this CPU is taken from the ingest under test.
    """
    messages = _interleave(
        generate_messages(
            spec.fleet, range(*spec.gateways), spec.readings_per_gateway, spec.per_message, spec.seed
        ),
        spec.gateways[1] - spec.gateways[0],
    )
    if spec.limit_messages is not None:
        messages = messages[: spec.limit_messages]
    acked = [0]

    def on_publish(_client: mqtt.Client, _userdata: Any, _mid: int, _reason: Any, _props: Any) -> None:
        acked[0] += 1

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{spec.index}-{os.getpid()}")
    client.max_inflight_messages_set(spec.window)
    client.on_publish = on_publish
    client.connect(spec.host, spec.port, keepalive=60)
    while not client.is_connected():
        client.loop(timeout=0.05)
    ready.put(spec.index)
    start.wait()
    cpu0 = time.process_time()
    first = time.time()
    interval = 1 / spec.messages_per_s if spec.messages_per_s else 0.0
    started = time.monotonic()
    sent, total = 0, len(messages)
    while acked[0] < total:
        while sent < total and sent - acked[0] < spec.window:
            if interval and time.monotonic() < started + sent * interval:
                break
            topic, template = messages[sent]
            client.publish(topic, template.replace(PLACEHOLDER, _utc_stamp()), qos=1)
            sent += 1
        client.loop(timeout=0.002)
        for _ in range(spec.window):  # PUBACKs that are already waiting
            before = acked[0]
            if client.loop_read() != 0 or acked[0] == before:
                break
    last = time.time()
    client.disconnect()
    client.loop(timeout=0.1)
    results.put((spec.index, total, first, last, time.process_time() - cpu0))


# -- processes and CPU -------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children_of(ppid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid:
                pids.append(int(entry.name))
    return pids


def _machine_busy() -> tuple[float, float]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / _TICKS, sum(fields) / _TICKS


@dataclass
class CpuProbe:
    """CPU seconds used by named groups of processes between start() and stop()."""

    groups: dict[str, Callable[[], list[int]]]
    _start: dict[str, dict[int, float]] = field(default_factory=dict)
    _machine: tuple[float, float] = (0.0, 0.0)

    def start(self) -> None:
        self._start = {name: {pid: _cpu_seconds(pid) for pid in find()} for name, find in self.groups.items()}
        self._machine = _machine_busy()

    def stop(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, find in self.groups.items():
            before = self._start.get(name, {})
            used[name] = sum(_cpu_seconds(pid) - before.get(pid, 0.0) for pid in find())
        busy, total = _machine_busy()
        used["machine_busy_fraction"] = (busy - self._machine[0]) / max(1e-9, total - self._machine[1])
        return used


def _postgres_pids(server: LocalPostgres | None) -> Callable[[], list[int]]:
    def find() -> list[int]:
        if server is None:
            return []
        pid_file = server.data_dir / "postmaster.pid"
        try:
            master = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [master, *_children_of(master)]

    return find


def _pids_matching(needle: str) -> Callable[[], list[int]]:
    def find() -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if needle.encode() in (entry / "cmdline").read_bytes():
                        pids.append(int(entry.name))
        return pids

    return find


# -- services -------------------------------------------------------------------------------
@dataclass
class Services:
    admin_dsn: str  # a database we can CREATE DATABASE from
    mqtt_host: str
    mqtt_port: int
    postgres: LocalPostgres | None
    mosquitto: LocalMosquitto | None

    def fresh_database(self, name: str) -> str:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        dsn = self.admin_dsn.rsplit("/", 1)[0] + "/" + name
        migrate(dsn)
        return dsn

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def services(
    admin_dsn: str | None, mqtt_host: str | None, mqtt_port: int | None, durable: bool
) -> Iterator[Services]:
    with contextlib.ExitStack() as stack:
        postgres = None
        mosquitto = None
        if admin_dsn is None:
            postgres = stack.enter_context(LocalPostgres(durable=durable))
            admin_dsn = postgres.dsn_for("postgres")
        if mqtt_port is None:
            mosquitto = stack.enter_context(LocalMosquitto())
            mqtt_host, mqtt_port = "127.0.0.1", mosquitto.port
        yield Services(admin_dsn, mqtt_host or "127.0.0.1", mqtt_port, postgres, mosquitto)


def seed(dsn: str, fleet: Fleet) -> None:
    """Gateways, devices, and one citizen per device with an open assignment."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        for g in range(fleet.gateways):
            conn.execute("INSERT INTO gateways (gateway_id) VALUES (%s)", (fleet.gateway_id(g),))
        with conn.cursor() as cur:
            for g in range(fleet.gateways):
                for d in range(fleet.devices_per_gateway):
                    citizen = cur.execute(
                        "INSERT INTO citizens (given_name, family_name, care_team) "
                        "VALUES ('Bench', %s, 'bench') RETURNING id",
                        (f"{g}-{d}",),
                    ).fetchone()
                    device = cur.execute(
                        "INSERT INTO devices (address, kind, model) "
                        "VALUES (%s, 'blood_pressure', 'UA-651BLE') "
                        "RETURNING id",
                        (fleet.address(g, d),),
                    ).fetchone()
                    if citizen is None or device is None:  # pragma: no cover - RETURNING always returns
                        raise RuntimeError("seeding failed")
                    cur.execute(
                        "INSERT INTO device_assignments (device_id, user_slot, citizen_id, valid) "
                        "VALUES (%s, 1, %s, tstzrange('2025-01-01', NULL))",
                        (device[0], citizen[0]),
                    )


# -- measuring --------------------------------------------------------------------------------
def _metrics_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def metric_value(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + " ", name + "{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def histogram_quantile(text: str, name: str, q: float) -> float | None:
    """Prometheus-style quantile: linear interpolation inside the bucket that holds it."""
    buckets: list[tuple[float, float]] = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket{"):
            label = line.split('le="', 1)[1].split('"', 1)[0]
            upper = float("inf") if label == "+Inf" else float(label)
            buckets.append((upper, float(line.rsplit(" ", 1)[1])))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            span = count - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / span if span else 1.0)
        lower_bound, lower_count = bound, count
    return None


@dataclass
class RunResult:
    name: str
    per_message: int
    readings: int
    stored: int
    distinct: int
    seconds: float
    rate: float
    publish_seconds: float = 0.0
    p50: float | None = None
    p99: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    note: str = ""


def _publish(
    svc: Services,
    fleet: Fleet,
    *,
    readings: int,
    per_message: int,
    publishers: int,
    seed_value: int,
    limit_messages: int | None = None,
    readings_per_s: float | None = None,
) -> tuple[list[tuple[int, int, float, float, float]], float]:
    """Start the publisher processes, release them together, return their reports and t0."""
    context = mp.get_context("spawn")
    ready, start, results = context.Queue(), context.Event(), context.Queue()
    per_gateway = readings // fleet.gateways
    bounds = [round(i * fleet.gateways / publishers) for i in range(publishers + 1)]
    processes = []
    for i in range(publishers):
        limit = None if limit_messages is None else max(1, limit_messages // publishers)
        spec = PublisherSpec(
            i,
            fleet,
            (bounds[i], bounds[i + 1]),
            per_gateway,
            per_message,
            seed_value,
            svc.mqtt_host,
            svc.mqtt_port,
            limit_messages=limit,
            messages_per_s=readings_per_s / per_message / publishers if readings_per_s else None,
        )
        process = context.Process(target=publisher_main, args=(spec, ready, start, results), daemon=True)
        process.start()
        processes.append(process)
    for _ in processes:
        ready.get(timeout=300)
    t0 = time.time()
    start.set()
    reports = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return reports, t0


def _wait_for_count(count: Callable[[], int], expected: int, stall_s: float = 30.0) -> int:
    last, last_change = -1, time.monotonic()
    while True:
        current = count()
        if current >= expected:
            return current
        if current != last:
            last, last_change = current, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            return current
        time.sleep(0.25)


def _db_counts(dsn: str) -> tuple[int, int, int, datetime | None, datetime | None]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT reading_id), (SELECT count(*) FROM reading_ids), "
            "min(received_at), max(received_at) FROM readings"
        ).fetchone()
    assert row is not None  # noqa: S101 - aggregate queries always return a row
    return int(row[0]), int(row[1]), int(row[2]), row[3], row[4]


def run_ingest(
    svc: Services,
    fleet: Fleet,
    *,
    readings: int,
    per_message: int,
    publishers: int,
    workers: int = 1,
    batch_max_readings: int = 500,
    batch_max_wait_ms: int = 50,
    readings_per_s: float | None = None,
) -> RunResult:
    name = f"bench_ingest_{per_message}"
    dsn = svc.fresh_database(name)
    seed(dsn, fleet)
    expected = (readings // fleet.gateways) * fleet.gateways
    logs = Path(tempfile.mkdtemp(prefix="homevitals-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    group = f"bench-{per_message}-{uuid.uuid4().hex[:8]}"
    ports: list[int] = []
    for w in range(workers):
        port = free_port()
        ports.append(port)
        env = {
            **os.environ,
            "INGEST_DATABASE_URL": dsn,
            "INGEST_MQTT_HOST": svc.mqtt_host,
            "INGEST_MQTT_PORT": str(svc.mqtt_port),
            "INGEST_METRICS_PORT": str(port),
            "INGEST_METRICS_HOST": "127.0.0.1",
            "INGEST_MQTT_CLIENT_ID": f"bench-ingest-{per_message}-{w}",
            # A group of its own: members of earlier runs keep their sessions (and their share).
            "INGEST_MQTT_SHARE_GROUP": group,
            "INGEST_LOG_LEVEL": "WARNING",
            "INGEST_BATCH_MAX_READINGS": str(batch_max_readings),
            "INGEST_BATCH_MAX_WAIT_MS": str(batch_max_wait_ms),
            "INGEST_MISSING_CHECK_INTERVAL_S": "0",
        }
        with (logs / f"worker-{w}.log").open("wb") as log_file:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "ingest", "run"], env=env, stdout=log_file, stderr=log_file
                )
            )
    try:
        for port in ports:
            _wait_metric(port, "ingest_mqtt_connected", 1.0, timeout=30)
        probe = CpuProbe(
            {
                "ingest": lambda: [p.pid for p in procs],
                "postgres": _postgres_pids(svc.postgres),
                "mosquitto": _pids_matching(str(svc.mosquitto.config_path)) if svc.mosquitto else list,
            }
        )
        probe.start()
        reports, t0 = _publish(
            svc,
            fleet,
            readings=readings,
            per_message=per_message,
            publishers=publishers,
            seed_value=per_message,
            readings_per_s=readings_per_s,
        )
        stored = _wait_for_count(
            lambda: int(sum(metric_value(_metrics_text(p), "ingest_readings_stored_total") for p in ports)),
            expected,
        )
        cpu = probe.stop()
        cpu["publishers"] = sum(r[4] for r in reports)
        texts = [_metrics_text(p) for p in ports]
        rows, distinct, ledger, _first, last = _db_counts(dsn)
        end = last.timestamp() if last is not None else time.time()
        # received_at is the transaction's start; the commit follows within a batch's commit time.
        seconds = max(1e-9, end - t0)
        publish_seconds = max(r[3] for r in reports) - t0
        merged = "\n".join(texts)
        return RunResult(
            "ingest",
            per_message,
            expected,
            rows,
            distinct,
            seconds,
            stored / seconds,
            publish_seconds,
            histogram_quantile(merged, "ingest_lag_seconds", 0.5),
            histogram_quantile(merged, "ingest_lag_seconds", 0.99),
            cpu,
            note=(
                "exact"
                if rows == distinct == ledger == expected
                else f"MISMATCH rows={rows} distinct={distinct} ledger={ledger} expected={expected}"
            ),
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        svc.drop_database(name)


def _wait_metric(port: int, name: str, value: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if metric_value(_metrics_text(port), name) == value:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{name} did not reach {value} on :{port}")


# -- the naive baseline ---------------------------------------------------------------------------
_NAIVE_INSERT = """
INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, gateway_id, batch_seq, device_time,
                      gateway_time, time_source, unit, systolic, diastolic, mean_arterial_pressure,
                      pulse_rate,
                      "values", status, raw_uuid, raw)
VALUES (%s, %s, %s, (SELECT id FROM devices WHERE address = %s), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
        %s, %s, %s, %s)
ON CONFLICT DO NOTHING
"""


def naive_main(dsn: str, host: str, port: int, client_id: str, ready_file: str) -> None:
    """What a first attempt looks like: parse, one INSERT per reading in autocommit, ack on return."""
    conn = psycopg.connect(dsn, autocommit=True)

    def on_message(_client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        batch = json.loads(message.payload)
        for r in batch["readings"]:
            v = r["values"]
            conn.execute(
                _NAIVE_INSERT,
                (
                    r["measured_at"],
                    r["reading_id"],
                    r["kind"],
                    r["device"]["address"],
                    r["user_id"],
                    batch["gateway_id"],
                    batch["batch_seq"],
                    r["device_time"],
                    r["gateway_time"],
                    r["time_source"],
                    r["unit"],
                    v["systolic"],
                    v["diastolic"],
                    v["mean_arterial_pressure"],
                    v["pulse_rate"],
                    json.dumps(v),
                    json.dumps(r["status"]),
                    r["raw"]["uuid"],
                    bytes.fromhex(r["raw"]["hex"]),
                ),
            )

    def on_connect(client: mqtt.Client, _userdata: Any, _flags: Any, _reason: Any, _props: Any) -> None:
        client.subscribe("homevitals/v1/gateways/+/readings", qos=1)

    def on_subscribe(_client: mqtt.Client, _userdata: Any, _mid: int, _reasons: Any, _props: Any) -> None:
        Path(ready_file).touch()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.on_message = on_message
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.connect(host, port)
    client.loop_forever()


def run_naive(
    svc: Services, fleet: Fleet, *, readings: int, per_message: int, publishers: int, limit_readings: int
) -> RunResult:
    name = f"bench_naive_{per_message}"
    dsn = svc.fresh_database(name)
    seed(dsn, fleet)
    limit_messages = max(publishers, limit_readings // per_message)
    ready_file = Path(tempfile.mkdtemp(prefix="homevitals-naive-")) / "ready"
    context = mp.get_context("spawn")
    proc = context.Process(
        target=naive_main,
        daemon=True,
        args=(dsn, svc.mqtt_host, svc.mqtt_port, f"bench-naive-{per_message}", str(ready_file)),
    )
    proc.start()
    try:
        deadline = time.monotonic() + 30
        while not ready_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        probe = CpuProbe(
            {"naive": lambda: [proc.pid] if proc.pid else [], "postgres": _postgres_pids(svc.postgres)}
        )
        probe.start()
        reports, t0 = _publish(
            svc,
            fleet,
            readings=readings,
            per_message=per_message,
            publishers=publishers,
            seed_value=per_message,
            limit_messages=limit_messages,
        )
        expected_messages = sum(r[1] for r in reports)
        expected = expected_messages * per_message

        def count() -> int:
            with psycopg.connect(dsn) as conn:
                row = conn.execute("SELECT count(*) FROM readings").fetchone()
            return int(row[0]) if row else 0

        _wait_for_count(count, expected)
        cpu = probe.stop()
        rows, distinct, _ledger, _first, last = _db_counts(dsn)
        end = last.timestamp() if last is not None else time.time()
        seconds = max(1e-9, end - t0)
        return RunResult(
            "naive",
            per_message,
            expected,
            rows,
            distinct,
            seconds,
            rows / seconds,
            max(r[3] for r in reports) - t0,
            cpu=cpu,
            note="exact" if rows == distinct == expected else f"rows={rows} expected={expected}",
        )
    finally:
        proc.terminate()
        proc.join(timeout=10)
        svc.drop_database(name)


# -- the COPY ceiling -----------------------------------------------------------------------------
def _prepared(fleet: Fleet, readings: int, per_message: int) -> list[Envelope]:
    now = datetime.now(UTC)
    envelopes = []
    for topic, template in generate_messages(
        fleet, range(fleet.gateways), readings // fleet.gateways, per_message, seed=per_message
    ):
        payload = template.replace(PLACEHOLDER, _utc_stamp())
        outcome = validate_message(
            topic, payload, now=now, future_tolerance=timedelta(minutes=5), max_payload_bytes=1 << 20
        )
        envelopes.append(Envelope(topic, payload, outcome))
    return envelopes


_COPY_READINGS = """
COPY readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, gateway_id, batch_seq,
               device_time, gateway_time, time_source, unit, systolic, diastolic, mean_arterial_pressure,
               pulse_rate, "values",
               status, raw_uuid, raw) FROM STDIN
"""


def run_copy_ceiling(svc: Services, fleet: Fleet, readings: int, per_message: int) -> RunResult:
    name = f"bench_copy_{per_message}"
    dsn = svc.fresh_database(name)
    seed(dsn, fleet)
    envelopes = _prepared(fleet, readings, per_message)
    rows = [r for e in envelopes if isinstance(e.outcome, ValidBatch) for r in e.outcome.readings]
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            ids = {
                address: (device_id, citizen_id)
                for address, device_id, citizen_id in conn.execute(
                    "SELECT d.address, d.id, a.citizen_id FROM devices d "
                    "JOIN device_assignments a ON a.device_id = d.id"
                )
            }
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur, cur.copy(_COPY_READINGS) as copy:
                for r in rows:
                    device_id, citizen_id = ids[r.address]
                    copy.write_row(
                        (
                            r.measured_at,
                            r.reading_id,
                            r.kind,
                            device_id,
                            r.user_slot,
                            citizen_id,
                            r.gateway_id,
                            r.batch_seq,
                            r.device_time,
                            r.gateway_time,
                            r.time_source,
                            r.unit,
                            r.systolic,
                            r.diastolic,
                            r.mean_arterial_pressure,
                            r.pulse_rate,
                            r.values_json,
                            r.status_json,
                            r.raw_uuid,
                            r.raw,
                        )
                    )
            seconds = time.perf_counter() - started
        stored, distinct, _ledger, _first, _last = _db_counts(dsn)
        return RunResult(
            "copy",
            per_message,
            len(rows),
            stored,
            distinct,
            seconds,
            len(rows) / seconds,
            note="COPY into readings, one transaction, rows prepared beforehand",
        )
    finally:
        svc.drop_database(name)


# -- write methods, without MQTT -----------------------------------------------------------------
_EXECUTEMANY_DEVICE = """
INSERT INTO devices AS d (address, kind, serial, manufacturer, model, firmware, battery_level, battery_at,
                          first_seen, last_seen, last_gateway_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, CASE WHEN %s::smallint IS NOT NULL THEN least(%s::timestamptz, now()) END,
        least(%s::timestamptz, now()), least(%s::timestamptz, now()), %s)
"""
_EXECUTEMANY_DEVICE_UPDATE = """
ON CONFLICT (address) DO UPDATE SET
  kind = coalesce(d.kind, excluded.kind),
  serial = coalesce(excluded.serial, d.serial),
  manufacturer = coalesce(excluded.manufacturer, d.manufacturer),
  model = coalesce(excluded.model, d.model),
  firmware = coalesce(excluded.firmware, d.firmware),
  battery_level = coalesce(excluded.battery_level, d.battery_level),
  battery_at = coalesce(excluded.battery_at, d.battery_at),
  first_seen = least(d.first_seen, excluded.first_seen),
  last_seen = greatest(d.last_seen, excluded.last_seen),
  last_gateway_id = excluded.last_gateway_id
"""

_EXECUTEMANY_READING = """
WITH fresh AS (
  INSERT INTO reading_ids (reading_id, measured_at) VALUES (%(reading_id)s, %(measured_at)s)
  ON CONFLICT (reading_id) DO NOTHING RETURNING reading_id
)
INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, assignment_id,
                      gateway_id, batch_seq, device_time, gateway_time, time_source, unit, original_unit,
                      systolic, diastolic, mean_arterial_pressure, pulse_rate, value, "values", status,
                      invalid_values, implausible,
                      implausible_reasons, clock_in_future, raw_uuid, raw)
SELECT %(measured_at)s, f.reading_id, %(kind)s, dev.id, %(user_slot)s, a.citizen_id, a.id, %(gateway_id)s,
       %(batch_seq)s, %(device_time)s, %(gateway_time)s, %(time_source)s, %(unit)s, %(original_unit)s,
       %(systolic)s, %(diastolic)s, %(mean_arterial_pressure)s, %(pulse_rate)s, %(value)s,
       %(values_json)s::jsonb, %(status_json)s::jsonb, coalesce(%(invalid_values)s, '{}'::text[]),
       %(implausible)s,
       coalesce(%(implausible_reasons)s, '{}'::text[]), %(clock_in_future)s,
       %(raw_uuid)s, %(raw)s
FROM fresh f
JOIN devices dev ON dev.address = %(address)s
LEFT JOIN device_assignments a
  ON a.device_id = dev.id AND a.user_slot = coalesce(%(user_slot)s::smallint, 1)
 AND a.valid @> %(measured_at)s::timestamptz
RETURNING reading_id, citizen_id, kind, measured_at, gateway_time, implausible, clock_in_future,
          systolic, diastolic, pulse_rate, value
"""


class ExecutemanyWriter(BatchWriter):
    """The same semantics as :class:`BatchWriter`, with ``executemany`` (pipelined) per row."""

    @staticmethod
    def _latest_per_device(rows: list[PreparedReading]) -> list[PreparedReading]:
        latest: dict[str, PreparedReading] = {}
        for r in rows:
            if r.address not in latest or r.gateway_time > latest[r.address].gateway_time:
                latest[r.address] = r
        return [latest[address] for address in sorted(latest)]

    @staticmethod
    def _device_params(r: PreparedReading) -> tuple[Any, ...]:
        return (
            r.address,
            r.kind,
            r.serial,
            r.manufacturer,
            r.model,
            r.firmware,
            r.battery_level,
            r.battery_level,
            r.gateway_time,
            r.gateway_time,
            r.gateway_time,
            r.gateway_id,
        )

    def _insert_rows(self, rows: list[PreparedReading]) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.executemany(
                _EXECUTEMANY_DEVICE + " ON CONFLICT (address) DO NOTHING",
                [self._device_params(r) for r in self._latest_per_device(rows)],
            )
            cur.executemany(
                _EXECUTEMANY_READING,
                [r._asdict() for r in sorted(rows, key=lambda r: r.reading_id)],
                returning=True,
            )
            stored: list[tuple[Any, ...]] = []
            while True:
                stored += cur.fetchall()
                if not cur.nextset():
                    break
            return stored

    def _touch_devices(self, rows: list[PreparedReading]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                _EXECUTEMANY_DEVICE + _EXECUTEMANY_DEVICE_UPDATE,
                [self._device_params(r) for r in self._latest_per_device(rows)],
            )


@dataclass
class WriterResult:
    method: str
    readings: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.readings / self.seconds


def compare_writers(
    svc: Services, fleet: Fleet, *, readings: int, per_message: int, batch_readings: int = 500
) -> list[WriterResult]:
    envelopes = _prepared(fleet, readings, per_message)
    batches: list[list[Envelope]] = [[]]
    weight = 0
    for envelope in envelopes:
        if weight >= batch_readings:
            batches.append([])
            weight = 0
        batches[-1].append(envelope)
        weight += envelope.reading_count
    results = []
    for method, cls in (("copy+ledger (ingest)", BatchWriter), ("executemany+ledger", ExecutemanyWriter)):
        name = "bench_writer"
        dsn = svc.fresh_database(name)
        seed(dsn, fleet)
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                writer = cls(conn)
                started = time.perf_counter()
                stored = sum(writer.write(batch).stored for batch in batches)
                seconds = time.perf_counter() - started
            expected = sum(e.reading_count for e in envelopes)
            if stored != expected:
                raise RuntimeError(f"{method}: stored {stored}, expected {expected}")
            results.append(WriterResult(method, stored, seconds))
        finally:
            svc.drop_database(name)
    return results
