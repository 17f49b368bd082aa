"""``homevitals simulate`` as a user runs it: a subprocess that logs JSON lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from simulator import cli

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

REPO = Path(__file__).resolve().parents[2]

SHORT = """
name: cli-test
seed: 5
start: "2026-11-23T06:00:00+01:00"
devices:
  - {id: bp, kind: blood_pressure, address: "A4:C1:38:00:11:22", advertise_seconds: 5,
     faults: [{kind: nan, on_measurements: [3]}]}
  - {id: scale, kind: weight_scale, address: "D0:39:72:B4:50:1A", clock: {unset: true}}
citizens:
  - id: anna
    schedules:
      - {device: bp, protocol: esh_home_bp, days: 1, sessions: ["06:05", "06:30"],
         jitter_minutes: 0}
      - {device: scale, protocol: daily, days: 1, sessions: ["06:15"], jitter_minutes: 0,
         baseline: {weight: 70}}
"""


def simulate(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    completed = subprocess.run(
        [sys.executable, "-m", "homevitals.cli", "simulate", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    events = [json.loads(line) for line in completed.stderr.splitlines() if line.startswith("{")]
    return completed.returncode, events, completed.stderr


def test_simulate_logs_each_measurement(tmp_path: Path) -> None:
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SHORT, encoding="utf-8")

    code, events, stderr = simulate("--scenario", str(scenario), "--speed", "3600",
                                    "--duration", "30")

    assert code == 0, stderr
    measurements = [e for e in events if e["event"] == "measurement"]
    assert [e["device"] for e in measurements] == ["bp", "bp", "scale", "bp", "bp"]
    assert [e["fault"] for e in measurements if e["device"] == "bp"] == [None, None, "nan", None]
    first = measurements[0]
    assert first["citizen"] == "anna" and first["kind"] == "blood_pressure"
    assert set(first["values"]) == {"systolic", "diastolic", "pulse_rate"}
    assert first["taken_at"].startswith("2026-11-23T05:")  # 06:xx in Copenhagen
    scale = measurements[2]
    assert scale["device_time"].startswith("2000-01-01")  # the unset clock
    (complete,) = [e for e in events if e["event"] == "schedule complete"]
    assert complete["measurements"] == 5


def test_simulate_household_scenario_runs_compressed() -> None:
    # 100 simulated hours per second: the 7-day household finishes in a few seconds.
    code, events, stderr = simulate("--scenario", "simulator/scenarios/household.yaml",
                                    "--speed", "360000", "--duration", "60")
    assert code == 0, stderr
    measurements = [e for e in events if e["event"] == "measurement"]
    (complete,) = [e for e in events if e["event"] == "schedule complete"]
    assert complete["measurements"] == len(measurements) > 40
    assert {e["device"] for e in measurements} == {"bp-shared", "scale"}
    assert {e["user_slot"] for e in measurements} == {1, 2}
    assert [e["fault"] for e in measurements].count("nan") == 1


def test_simulate_rejects_a_bad_scenario(tmp_path: Path) -> None:
    # In-process: a bad scenario is refused before logging or Bluetooth are touched.
    app = typer.Typer()
    app.command()(cli.simulate)
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices: []\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["--scenario", str(bad)])

    assert result.exit_code == 2
    assert "bad.yaml" in result.stderr and "devices" in result.stderr
