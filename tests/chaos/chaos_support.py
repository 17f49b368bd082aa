"""The chaos suite's moving parts: real gateway processes with a real outbox on disk, real
ingest workers (``homevitals ingest run``), a real Mosquitto and a real TimescaleDB.

A gateway process starts with readings already in its outbox (written by the real
:class:`~gateway.outbox.Outbox`, exactly as its BLE sessions would) and a scenario whose only
device is not on its allow-list, so what it sends is exactly what the test put there. Its
hub-ack window paces the stream: a few batches await their ack at any time.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import yaml

from gateway.outbox import Outbox
from tests.gateway.helpers import bp_device, bp_reading
from tests.support.waiting import wait_until

# Short, so that a lost ack is made good within the test; production waits 10 s.
FAST_ACKS = {
    "GATEWAY_HUB_ACK_TIMEOUT_S": "2",
    "GATEWAY_HUB_ACK_TIMEOUT_MAX_S": "4",
}


def prefill_outbox(data_dir: Path, count: int, *, address: str) -> set[str]:
    """``count`` distinct readings in the gateway's outbox; returns their ids."""
    data_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ids: set[str] = set()
    with Outbox.open(data_dir / "outbox.sqlite3", limit=10**9) as outbox:
        unsynced(outbox)
        for i in range(count):
            reading = bp_reading(90 + i % 100, minutes_ago=i + 1, address=address, now=now,
                                 diastolic=50 + i // 100 % 50)
            outbox.add(reading)
            ids.add(reading.reading_id)
    assert len(ids) == count
    return ids


def unsynced(outbox: Outbox) -> Outbox:
    """Filling an outbox for a test needs no fsync per reading (5 ms each here): the readings
    go through the real :meth:`Outbox.add`, and the gateway process opens the file later."""
    outbox._db.execute("PRAGMA synchronous=OFF")
    return outbox


def outbox_depth(data_dir: Path) -> int:
    db = sqlite3.connect(data_dir / "outbox.sqlite3", timeout=30)
    try:
        return int(db.execute("SELECT count(*) FROM readings").fetchone()[0])
    finally:
        db.close()


@dataclass
class GatewayProcess:
    """``homevitals gateway run`` (simulator backend) as operators run it, configured by GATEWAY_*."""

    gateway_id: str
    data_dir: Path
    broker_port: int
    extra_env: dict[str, str] = field(default_factory=dict)
    # An enrolled gateway's config file (id, broker, credentials); then GATEWAY_* give only the rest.
    config_file: Path | None = None
    proc: subprocess.Popen[str] | None = None
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def start(self) -> GatewayProcess:
        scenario = self.data_dir.parent / f"{self.gateway_id}.yaml"
        # One device, not on the allow-list: the gateway scans, ignores it, and sends its outbox.
        scenario.write_text(yaml.safe_dump({
            "name": "chaos", "seed": 1, "devices": [bp_device("bp-idle", "A4:C1:38:00:0F:0F", backlog=0)],
        }))
        env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
        env.update({
            "GATEWAY_ID": self.gateway_id,
            "GATEWAY_MQTT_HOST": "127.0.0.1",
            "GATEWAY_MQTT_PORT": str(self.broker_port),
            "GATEWAY_DATA_DIR": str(self.data_dir),
            "GATEWAY_LOG_FORMAT": "json",
            "GATEWAY_STATUS_INTERVAL_S": "5",
            "GATEWAY_BATCH_SIZE": "10",
            "GATEWAY_INFLIGHT_WINDOW": "4",
            "GATEWAY_BATCH_LINGER_S": "0",
            "GATEWAY_HUB_ACK_WINDOW": "4",
            **FAST_ACKS,
            **self.extra_env,
        })
        command = [sys.executable, "-m", "gateway.cli", "run", "--ble-backend", "simulator",
                   "--scenario", str(scenario)]
        if self.config_file is not None:
            for key in ("GATEWAY_ID", "GATEWAY_MQTT_HOST", "GATEWAY_MQTT_PORT"):
                env.pop(key)
            command += ["--config", str(self.config_file)]
        self.proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True)
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                self.events.append((time.monotonic(), event))

    def named(self, name: str, since: float = 0.0) -> list[tuple[float, dict[str, Any]]]:
        return [(at, event) for at, event in list(self.events) if event.get("event") == name and at >= since]

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_pipe()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_pipe()

    def _close_pipe(self) -> None:
        # The reader sees EOF once the process is gone; only then is the pipe closed.
        if self._reader is not None:
            self._reader.join(timeout=10)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()

    @property
    def depth(self) -> int:
        return outbox_depth(self.data_dir)


def stored(dsn: str) -> tuple[int, int]:
    """(rows, distinct reading ids) in ``readings``."""
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT reading_id) FROM readings").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def stored_or_zero(dsn: str) -> int:
    try:
        return stored(dsn)[0]
    except psycopg.OperationalError:
        return 0  # the database is down (the restart case)


def stored_ids(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {str(r[0]) for r in conn.execute("SELECT reading_id FROM readings")}


@dataclass
class Outcome:
    """One chaos case's line of the table (docs/benchmarks.md)."""

    case: str
    sent: int
    stored: int
    duplicated: int
    recover_s: float
    note: str = ""

    @property
    def lost(self) -> int:
        return self.sent - (self.stored - self.duplicated)

    def line(self) -> str:
        return (f"| {self.case} | {self.sent} | {self.stored} | {self.lost} | {self.duplicated} "
                f"| {self.recover_s:.1f} | {self.note} |")


TABLE_HEAD = ("| case | sent | stored | lost | duplicated | s to recover | note |\n"
              "|---|---:|---:|---:|---:|---:|---|")


@dataclass(frozen=True)
class Counts:
    rows: int
    distinct: int
    conflicts: int  # re-sends whose content differed from the stored row (docs/contract.md)
    unexpected: int  # stored ids nobody sent
    missing: int  # sent ids not stored

    @property
    def duplicated(self) -> int:
        return self.rows - self.distinct


def settle(dsn: str, sent_ids: set[str], gateways: list[GatewayProcess], *, timeout: float = 40) -> Counts:
    """Wait until every outbox is empty (every batch hub-acked) and every reading is stored,
    then count what the database holds."""
    wait_until(lambda: stored_or_zero(dsn) >= len(sent_ids), timeout,
               lambda: f"{len(sent_ids)} readings stored (have {stored_or_zero(dsn)})")
    wait_until(lambda: all(g.depth == 0 for g in gateways), timeout,
               lambda: f"every outbox acknowledged (depths {[g.depth for g in gateways]})")
    time.sleep(0.5)  # a late duplicate would show now
    rows, distinct = stored(dsn)
    ids = stored_ids(dsn)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM reading_conflicts").fetchone()
    assert row is not None
    return Counts(rows, distinct, int(row[0]), len(ids - sent_ids), len(sent_ids - ids))


def assert_exact(counts: Counts, sent_ids: set[str]) -> None:
    """Each sent reading stored once, nothing else; the re-sends were identical (no conflicts)."""
    assert (counts.missing, counts.unexpected) == (0, 0)
    assert (counts.rows, counts.distinct) == (len(sent_ids), len(sent_ids)), "a reading was stored twice"
    assert counts.conflicts == 0
