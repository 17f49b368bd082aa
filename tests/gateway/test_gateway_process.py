"""The gateway as operators run it: ``homevitals gateway run`` in its own process.

- acceptance: the single-bp scenario's readings reach a local Mosquitto as contract v1 batches;
- crash: kill -9 mid-publish, restart, and every reading promised before the kill arrives.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gateway.helpers import bp_device
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def gateway_env(data_dir: Path, port: int, gateway_id: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    env.update({
        "GATEWAY_ID": gateway_id,
        "GATEWAY_MQTT_HOST": "127.0.0.1",
        "GATEWAY_MQTT_PORT": str(port),
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_LOG_FORMAT": "json",
        "GATEWAY_BACKLOG_IDLE_S": "1",
        "GATEWAY_STATUS_INTERVAL_S": "2",
        "GATEWAY_HUB_ACKS": "false",  # no ingest here; tests/chaos runs gateways against a real hub
        **extra,
    })
    return env


def start_gateway(scenario: Path, env: dict[str, str], *args: str, entry_point: bool = False
                  ) -> subprocess.Popen[str]:
    """``homevitals gateway run`` (``entry_point``), or the same app without the other services' CLIs."""
    program = ["-m", "homevitals.cli", "gateway"] if entry_point else ["-m", "gateway.cli"]
    command = [sys.executable, *program, "run", "--ble-backend", "simulator", "--scenario", str(scenario), *args]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def log_events(process: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    assert process.stderr is not None
    for line in process.stderr:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            yield event


def stop_gracefully(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    process.send_signal(signal.SIGTERM)
    events = list(log_events(process))
    close(process)
    assert process.wait(timeout=30) == 0, events[-5:]
    return events


def close(process: subprocess.Popen[str]) -> None:
    if process.stderr is not None:
        process.stderr.close()


def outbox_ids(data_dir: Path) -> set[str]:
    db = sqlite3.connect(data_dir / "outbox.sqlite3")
    try:
        return {row[0] for row in db.execute("SELECT reading_id FROM readings")}
    finally:
        db.close()


def test_acceptance_single_bp_scenario(mosquitto, tmp_path: Path, repo_root: Path, collector_factory):
    collector = collector_factory(mosquitto.port, "gw-accept")
    # Play systemd: a notify socket and a watchdog, as the unit in deploy/gateway/ sets up.
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    env = gateway_env(tmp_path / "data", mosquitto.port, "gw-accept", NOTIFY_SOCKET=str(tmp_path / "notify"),
                      WATCHDOG_USEC="2000000")
    process = start_gateway(repo_root / "simulator/scenarios/single-bp.yaml", env, entry_point=True)
    try:
        wait_until(lambda: len(collector.reading_ids()) >= 5, 60, "the scenario's 5 stored readings")
    finally:
        events = stop_gracefully(process)
    notify.setblocking(False)
    messages = set()
    with contextlib.suppress(BlockingIOError), notify:
        while True:
            messages.add(notify.recv(256).decode())
    assert {"READY=1", "WATCHDOG=1", "STOPPING=1"} <= messages
    assert not collector.errors  # every message validated against the JSON Schema and ReadingsBatch
    readings = collector.readings()
    assert {r["device"]["model"] for r in readings} == {"UA-651BLE"}
    assert {r["device"]["serial"] for r in readings} == {"5081234"}
    assert all(r["kind"] == "blood_pressure" and r["time_source"] in ("device", "device_corrected")
               for r in readings)
    assert any(e.get("event") == "device_bonded" for e in events)  # the scenario's monitor requires it
    statuses = collector.statuses()
    assert statuses[-1] == {"state": "offline"}
    online = [s for s in statuses if s.get("state") == "online"]
    assert online and online[-1]["devices"][0]["battery"] == 85


def test_kill_9_mid_publish_loses_nothing(private_mosquitto, tmp_path: Path, collector_factory):
    """kill -9 while batches await their PUBACK and readings keep arriving; restart; all arrive.

    To be sure the kill lands mid-publish, the broker is frozen (SIGSTOP) for a moment first:
    batches are on the wire, unacknowledged, and the backlog keeps coming in over BLE.
    """
    devices = [bp_device("bp-a", "A4:C1:38:00:01:0A", backlog=30), bp_device("bp-b", "A4:C1:38:00:01:0B", backlog=30)]
    first = tmp_path / "with-backlog.yaml"
    first.write_text(yaml.safe_dump({"name": "crash", "seed": 3, "devices": devices}))
    # After the restart the devices hold nothing: whatever arrives was kept by the gateway's outbox.
    second = tmp_path / "empty.yaml"
    second.write_text(yaml.safe_dump({"name": "crash", "seed": 3,
                                      "devices": [{**d, "backlog": 0} for d in devices]}))
    data_dir = tmp_path / "data"
    env = gateway_env(data_dir, private_mosquitto.port, "gw-crash", GATEWAY_BATCH_SIZE="2",
                      GATEWAY_INFLIGHT_WINDOW="2", GATEWAY_BATCH_LINGER_S="0")
    collector = collector_factory(private_mosquitto.port, "gw-crash")
    broker_pid = private_mosquitto._process.pid

    process = start_gateway(first, env)
    promised: set[str] = set()
    acked = stored_while_frozen = 0
    frozen = False
    try:
        for event in log_events(process):
            if event.get("event") == "reading_received" and event.get("result") == "stored":
                promised.add(event["reading_id"])
                stored_while_frozen += frozen
            if event.get("event") == "batch_acknowledged":
                acked += 1
                if acked == 3:
                    os.kill(broker_pid, signal.SIGSTOP)
                    frozen = True
            if stored_while_frozen >= 6:
                process.send_signal(signal.SIGKILL)
                break
        for event in log_events(process):  # lines written before it died are promises too
            if event.get("event") == "reading_received" and event.get("result") == "stored":
                promised.add(event["reading_id"])
        close(process)
        process.wait(timeout=10)
    finally:
        os.kill(broker_pid, signal.SIGCONT)
    assert process.returncode == -signal.SIGKILL
    left = outbox_ids(data_dir)
    assert len(left) >= 6, "the kill was not mid-publish"
    wait_until(lambda: {"state": "offline"} in collector.statuses(), 10, "the last will")

    restarted = start_gateway(second, env)
    try:
        wait_until(lambda: (promised | left) <= collector.reading_ids(), 60, "every kept reading")
        wait_until(lambda: not outbox_ids(data_dir), 10, "the restarted gateway to empty its outbox", interval=0.1)
    finally:
        stop_gracefully(restarted)
    assert outbox_ids(data_dir) == set()
    assert not collector.errors
    seqs = {batch["batch_seq"] for batch in collector.batches()}
    assert seqs == set(range(1, max(seqs) + 1)), "batch_seq has a gap across the crash"
    print(f"promised before the kill: {len(promised)}, in the outbox after it: {len(left)}, "
          f"messages: {len(collector.batches())}, distinct ids: {len(collector.reading_ids())}")
