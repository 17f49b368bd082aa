"""``homevitals gateway`` commands an operator types, run as real processes.

They run ``python -m gateway.cli`` (the same Typer app ``homevitals gateway`` mounts): the
root ``homevitals`` command loads every service's command group, which costs seconds per
call; test_gateway_process.py goes through the real ``homevitals`` entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gateway.outbox import Outbox
from tests.gateway.helpers import bp_device, bp_reading

pytestmark = pytest.mark.integration


def homevitals(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    environment.update({"GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_LOG_FORMAT": "json", **env})
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], env=environment,
                          capture_output=True, text=True, timeout=60, check=False)


def test_allow_list_commands(tmp_path: Path):
    added = homevitals("devices", "add", "a4:c1:38:00:11:22", "--model", "UA-651BLE", data_dir=tmp_path)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["added"]["address"] == "A4:C1:38:00:11:22"
    listed = homevitals("devices", data_dir=tmp_path)
    assert [d["model"] for d in json.loads(listed.stdout)["devices"]] == ["UA-651BLE"]
    bad = homevitals("devices", "add", "not-an-address", data_dir=tmp_path)
    assert bad.returncode == 2 and "not a Bluetooth address" in bad.stderr
    removed = homevitals("devices", "remove", "A4:C1:38:00:11:22", data_dir=tmp_path)
    assert removed.returncode == 0
    again = homevitals("devices", "remove", "A4:C1:38:00:11:22", data_dir=tmp_path)
    assert again.returncode == 1 and "not on the allow-list" in again.stderr


def test_status_and_outbox_show_what_waits(tmp_path: Path):
    empty = homevitals("status", data_dir=tmp_path, GATEWAY_ID="gw-0042")
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout)["outbox"]["depth"] == 0
    with Outbox.open(tmp_path / "outbox.sqlite3", limit=2) as outbox:
        for i in range(3):
            outbox.add(bp_reading(110 + i, minutes_ago=i))
        outbox.form_batch(2)
        outbox.add(refused := bp_reading(140, minutes_ago=9))
        outbox.reject_batch(outbox.form_batch(1).batch_seq, "schema_violation", "readings.0.unit: ...")  # type: ignore[union-attr]
        outbox.record_malformed("A4:C1:38:00:11:22", 0x2A35, b"\x1e\x80", "0x2A35: offset 1: expected ...")
    full = homevitals("status", data_dir=tmp_path, GATEWAY_OUTBOX_LIMIT="2")
    assert full.returncode == 1  # a full outbox is an operator's problem: non-zero for scripts
    report = json.loads(full.stdout)["outbox"]
    assert (report["depth"], report["pending"], report["open_batches"], report["full"]) == (3, 1, [1], True)
    assert report["hub_rejected"] == 1
    shown = homevitals("outbox", "--malformed", "5", "--rejected", "5", data_dir=tmp_path)
    assert json.loads(shown.stdout)["malformed"][0]["hex"] == "1e80"
    [kept] = json.loads(shown.stdout)["rejected"]
    assert (kept["reading_id"], kept["reason"], kept["batch_seq"]) == (refused.reading_id, "schema_violation", "2")


def test_run_refuses_a_bad_gateway_id(tmp_path: Path):
    result = homevitals("run", data_dir=tmp_path, GATEWAY_ID="Not Valid")
    assert result.returncode == 2
    assert "GATEWAY_ID" in result.stderr


def test_config_masks_the_password(tmp_path: Path):
    result = homevitals("config", data_dir=tmp_path, GATEWAY_MQTT_PASSWORD="s3cret-pw")
    assert result.returncode == 0
    assert "s3cret-pw" not in result.stdout
    assert json.loads(result.stdout)["data_dir"] == str(tmp_path)


def test_pair_command_with_the_simulator(tmp_path: Path):
    scenario = tmp_path / "one.yaml"
    scenario.write_text(yaml.safe_dump({"devices": [bp_device("bp", "A4:C1:38:00:99:01", backlog=1,
                                                              requires_bonding=True, serial="S-1")]}))
    result = homevitals("pair", "--timeout", "20", "--ble-backend", "simulator", "--scenario", str(scenario),
                        data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    paired = json.loads(result.stdout)["paired"]
    assert (paired["address"], paired["serial"], paired["bonded"]) == ("A4:C1:38:00:99:01", "S-1", True)
    listed = homevitals("devices", data_dir=tmp_path)
    assert [d["address"] for d in json.loads(listed.stdout)["devices"]] == ["A4:C1:38:00:99:01"]
    # A second pairing window finds nothing new.
    nothing = homevitals("pair", "--timeout", "2", "--ble-backend", "simulator", "--scenario", str(scenario),
                         data_dir=tmp_path)
    assert nothing.returncode == 1 and "no new health device" in nothing.stderr
