"""``homevitals decode UUID HEX``: JSON on stdout and exit 0, or one stderr line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.decode_cli import parse_hex
from homevitals.cli import build_app

pytestmark = pytest.mark.unit

# The acceptance example: a failed measurement with NaN (0x07FF) in every value.
FAILED_BP = "16 ff 07 ff 07 ff 07 e4 07 01 14 08 2b 00 ff 07 00 00"
BP_KEYS = ["kind", "unit", "systolic", "diastolic", "mean_arterial_pressure", "pulse_rate",
           "timestamp", "user_id", "status", "invalid_values", "canonical"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), ["decode", *args])
    return result.exit_code, result.stdout, result.stderr


def test_failed_measurement_reports_invalid_values_never_2047() -> None:
    code, out, err = run("2a35", FAILED_BP)
    assert (code, err) == (0, "")
    value = json.loads(out)
    assert list(value) == BP_KEYS
    assert value["kind"] == "blood_pressure"
    assert value["invalid_values"] == ["systolic", "diastolic", "mean_arterial_pressure",
                                       "pulse_rate"]
    assert value["systolic"] is None
    assert "2047" not in out
    assert value["status"] == {
        "body_movement": False, "cuff_fit_loose": False, "irregular_pulse": False,
        "improper_position": False, "pulse_rate_range": "in_range",
    }
    assert value["timestamp"] == "2020-01-20T08:43:00"


@pytest.mark.parametrize("uuid", ["2a35", "0x2A35", "00002a35-0000-1000-8000-00805f9b34fb"])
@pytest.mark.parametrize("payload", ["01 a0 f0 6b f0 7d f0", "01:a0:f0:6b:f0:7d:f0",
                                     "(0x) 01-A0-F0-6B-F0-7D-F0", "01a0f06bf07df0"])
def test_uuid_and_hex_forms(uuid: str, payload: str) -> None:
    code, out, _ = run(uuid, payload)
    assert code == 0
    value = json.loads(out)
    assert (value["unit"], value["systolic"]) == ("kPa", 16.0)
    assert value["canonical"]["systolic"] == 120.00984


def test_intermediate_cuff_pressure_kind() -> None:
    code, out, _ = run("2a36", "00 57 00 ff 07 ff 07")
    assert code == 0
    assert json.loads(out)["kind"] == "intermediate_cuff_pressure"


@pytest.mark.parametrize(
    ("uuid", "payload", "keys"),
    [
        ("2a9d", "03 34 12 e0 07 02 19 03 31 1c",
         ["unit", "weight", "timestamp", "user_id", "bmi", "height", "invalid_values",
          "canonical"]),
        ("2a18", "03 06 00 e4 07 04 0d 10 26 0a 00 00 78 b0 f1",
         ["sequence_number", "base_time", "time_offset", "concentration", "concentration_unit",
          "type", "sample_location", "sensor_status", "invalid_values", "canonical"]),
        ("2a1c", "06 6c 01 00 ff e8 07 02 1d 15 0f 00 01",
         ["unit", "temperature", "timestamp", "temperature_type", "invalid_values",
          "canonical"]),
        ("2a5e", "17 61 00 60 00 e1 07 01 01 01 22 13 20 00 20 00 00",
         ["spo2", "pulse_rate", "timestamp", "invalid_values"]),
    ],
)
def test_documented_keys(uuid: str, payload: str, keys: list[str]) -> None:
    code, out, _ = run(uuid, payload)
    assert code == 0
    assert list(json.loads(out)) == keys


def test_values_of_the_other_kinds() -> None:
    assert json.loads(run("2a9d", "03 34 12 e0 07 02 19 03 31 1c")[1])["weight"] == 46.6
    glucose = json.loads(run("2a18", "03 06 00 e4 07 04 0d 10 26 0a 00 00 78 b0 f1")[1])
    assert glucose["canonical"] == {"concentration": 6.660894, "unit": "mmol/L"}
    assert glucose["type"] == "capillary_whole_blood"
    assert json.loads(run("2a19", "5a")[1]) == {"level": 90, "invalid_values": []}
    assert json.loads(run("2a29", "4f 6d 72 6f 6e")[1]) == {"value": "Omron"}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("2a35", "1e ff 07"), ["0x2A35", "offset 3", "diastolic"]),
        (("2a35", "00 78 00 50 00 60 00 00"), ["0x2A35", "offset 7", "trailing"]),
        (("2a29", "41 ff"), ["0x2A29", "offset 1", "UTF-8"]),
        (("2a52", "01 01"), ["0x2A52", "offset 0", "response op code"]),
        (("2a37", "00 48"), ["0x2A37", "no decoder"]),
        (("2a35", "1e zz"), ["0x2A35", "not hex", "'z'"]),
        (("2a35", "1e f"), ["0x2A35", "even number"]),
        (("heart", "00"), ["heart", "not a 16-bit Bluetooth UUID"]),
    ],
)
def test_malformed_input_is_one_stderr_line_and_exit_2(args: tuple[str, str],
                                                       fragments: list[str]) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    for fragment in fragments:
        assert fragment in err


def test_parse_hex() -> None:
    assert parse_hex("0x16ff07") == b"\x16\xff\x07"
    assert parse_hex("") == b""


@pytest.mark.integration
def test_installed_command_in_a_subprocess() -> None:
    command = Path(sys.executable).parent / "homevitals"
    ok = subprocess.run([command, "decode", "2a35", FAILED_BP], capture_output=True,
                        text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["invalid_values"][0] == "systolic"
    bad = subprocess.run([command, "decode", "2a35", "1e ff 07"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("0x2A35: offset 3: expected 2 byte(s) for the diastolic")
