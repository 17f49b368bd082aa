"""The contender under test: real ``python -m ingest run`` workers fed by the publishers."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from benchmarks.ingest.fleet import Fleet, seed
from benchmarks.ingest.metrics import histogram_quantile, metric_value, metrics_text, wait_metric
from benchmarks.ingest.profile import start_profiler, stop_profiler
from benchmarks.ingest.publisher import publish
from benchmarks.procstat import CpuProbe, pids_matching, postgres_pids
from benchmarks.services import Services
from devstack.services.ports import free_port


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


def wait_for_count(count: Callable[[], int], expected: int, stall_s: float = 30.0) -> int:
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


def db_counts(dsn: str) -> tuple[int, int, int, datetime | None, datetime | None]:
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
    profile_dir: Path | None = None,
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
            wait_metric(port, "ingest_mqtt_connected", 1.0, timeout=30)
        if profile_dir is not None:
            profilers = [
                start_profiler(proc.pid, profile_dir / f"ingest-{per_message}-worker{w}.txt")
                for w, proc in enumerate(procs)
            ]
        probe = CpuProbe(
            {
                "ingest": lambda: [p.pid for p in procs],
                "postgres": postgres_pids(svc.postgres),
                "mosquitto": pids_matching(str(svc.mosquitto.config_path)) if svc.mosquitto else list,
            }
        )
        probe.start()
        reports, t0 = publish(
            svc,
            fleet,
            readings=readings,
            per_message=per_message,
            publishers=publishers,
            seed_value=per_message,
            readings_per_s=readings_per_s,
        )
        stored = wait_for_count(
            lambda: int(sum(metric_value(metrics_text(p), "ingest_readings_stored_total") for p in ports)),
            expected,
        )
        cpu = probe.stop()
        if profile_dir is not None:
            for profiler in profilers:
                stop_profiler(profiler)
        cpu["publishers"] = sum(r[4] for r in reports)
        texts = [metrics_text(p) for p in ports]
        rows, distinct, ledger, _first, last = db_counts(dsn)
        end = last.timestamp() if last is not None else time.time()
        # received_at is the transaction's start; the commit follows within a batch's commit time.
        seconds = max(1e-9, end - t0)
        publish_seconds = max(r[3] for r in reports) - t0
        merged = "\n".join(texts)
        return RunResult(
            "homevitals",
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
