"""The baselines run as MQTT subscribers beside ingest: the per-row INSERT subscriber here,
and the naive COPY reference (reference.py); :func:`run_subscriber` runs either."""

from __future__ import annotations

import json
import multiprocessing as mp
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.ingest.fleet import Fleet, seed
from benchmarks.ingest.publisher import publish
from benchmarks.ingest.run import RunResult, db_counts, wait_for_count
from benchmarks.procstat import CpuProbe, postgres_pids
from benchmarks.services import Services

_NAIVE_INSERT = """
INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, gateway_id, batch_seq, device_time,
                      gateway_time, time_source, unit, systolic, diastolic, mean_arterial_pressure,
                      pulse_rate,
                      "values", status, raw_uuid, raw)
VALUES (%s, %s, %s, (SELECT id FROM devices WHERE address = %s), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
        %s, %s, %s, %s)
ON CONFLICT DO NOTHING
"""


def per_row_main(
    dsn: str, host: str, port: int, client_id: str, ready_file: str, _latency_file: str
) -> None:
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


SubscriberMain = Callable[[str, str, int, str, str, str], None]


def run_subscriber(
    svc: Services,
    fleet: Fleet,
    *,
    name: str,
    target: SubscriberMain,
    readings: int,
    per_message: int,
    publishers: int,
    limit_readings: int | None = None,
) -> RunResult:
    """Publish the same messages to ``target`` in its own process; exact count and latency."""
    database = f"bench_{target.__name__}_{per_message}"
    dsn = svc.fresh_database(database)
    seed(dsn, fleet)
    limit_messages = None if limit_readings is None else max(publishers, limit_readings // per_message)
    folder = Path(tempfile.mkdtemp(prefix="homevitals-baseline-"))
    ready_file, latency_file = folder / "ready", folder / "latency_ms"
    context = mp.get_context("spawn")
    proc = context.Process(
        target=target,
        daemon=True,
        args=(dsn, svc.mqtt_host, svc.mqtt_port, f"bench-{database}", str(ready_file), str(latency_file)),
    )
    proc.start()
    try:
        deadline = time.monotonic() + 30
        while not ready_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        probe = CpuProbe(
            {"subscriber": lambda: [proc.pid] if proc.pid else [], "postgres": postgres_pids(svc.postgres)}
        )
        probe.start()
        reports, t0 = publish(
            svc,
            fleet,
            readings=readings,
            per_message=per_message,
            publishers=publishers,
            seed_value=per_message,
            limit_messages=limit_messages,
        )
        expected = sum(r[1] for r in reports) * per_message

        def count() -> int:
            with psycopg.connect(dsn) as conn:
                row = conn.execute("SELECT count(*) FROM readings").fetchone()
            return int(row[0]) if row else 0

        wait_for_count(count, expected)
        cpu = probe.stop()
        rows, distinct, _ledger, _first, last = db_counts(dsn)
        end = last.timestamp() if last is not None else time.time()
        seconds = max(1e-9, end - t0)
        text = latency_file.read_text() if latency_file.exists() else ""
        latencies = sorted(float(ms) / 1000 for ms in text.split())
        return RunResult(
            name,
            per_message,
            expected,
            rows,
            distinct,
            seconds,
            rows / seconds,
            max(r[3] for r in reports) - t0,
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            cpu=cpu,
            note="exact" if rows == distinct == expected else f"MISMATCH rows={rows} expected={expected}",
        )
    finally:
        proc.terminate()
        proc.join(timeout=10)
        svc.drop_database(database)


def percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
