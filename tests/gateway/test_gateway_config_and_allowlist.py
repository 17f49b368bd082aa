"""Settings (GATEWAY_* and TOML), the allow-list file and the status document."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.allowlist import AllowedDevice, AllowList, normalize_address
from gateway.errors import AllowListError
from gateway.settings import GatewaySettings, load_settings
from gateway.status import DeviceState, StatusInputs, build_status
from homevitals.contract.models import GatewayStatus
from homevitals.errors import ConfigurationError

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch):
    import os

    for key in list(os.environ):
        if key.startswith("GATEWAY_"):
            monkeypatch.delenv(key)


def test_fixed_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("GATEWAY_ID", "gw-0042")
    monkeypatch.setenv("GATEWAY_MQTT_HOST", "hub.example.dk")
    monkeypatch.setenv("GATEWAY_MQTT_PORT", "8883")
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert (settings.gateway_id, settings.mqtt_host, settings.mqtt_port) == ("gw-0042", "hub.example.dk", 8883)
    assert settings.outbox_path == tmp_path / "outbox.sqlite3"
    assert settings.allowlist_path == tmp_path / "allowlist.json"


def test_toml_file_with_environment_and_options_on_top(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    config = tmp_path / "gateway.toml"
    config.write_text('id = "gw-file"\nmqtt_host = "from-file"\nmqtt_port = 1884\nclock_tolerance_s = 120\n'
                      'mqtt_tls = true\nmqtt_ca_file = "/etc/ssl/hub-ca.pem"\n', encoding="utf-8")
    monkeypatch.setenv("GATEWAY_MQTT_HOST", "from-env")
    settings = load_settings(config, speed=60.0, scenario=None)
    assert settings.id == "gw-file"
    assert settings.mqtt_host == "from-env"  # the environment beats the file
    assert settings.mqtt_port == 1884
    assert settings.clock_tolerance_s == 120
    assert settings.mqtt_tls and settings.mqtt_ca_file == Path("/etc/ssl/hub-ca.pem")
    assert settings.speed == 60.0  # command-line options beat both


def test_bad_values_are_refused_with_the_setting_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("GATEWAY_ID", "GW 42")
    with pytest.raises(ConfigurationError, match="GATEWAY_ID"):
        _ = load_settings().gateway_id
    monkeypatch.setenv("GATEWAY_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="timezone"):
        load_settings()
    monkeypatch.delenv("GATEWAY_TIMEZONE")
    monkeypatch.setenv("GATEWAY_MQTT_CERT_FILE", "/etc/cert.pem")
    with pytest.raises(ValidationError, match="KEY_FILE"):
        load_settings()
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_production_refuses_a_published_password(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    monkeypatch.setenv("GATEWAY_MQTT_USERNAME", "gw-0042")
    monkeypatch.setenv("GATEWAY_MQTT_PASSWORD", "changeme")
    with pytest.raises(ConfigurationError, match="GATEWAY_MQTT_PASSWORD"):
        load_settings().check_secrets()
    monkeypatch.setenv("GATEWAY_MQTT_PASSWORD", "kP9v-unique")
    load_settings().check_secrets()
    assert "kP9v" not in GatewaySettings().model_dump_json()


def test_allowlist_persists_and_other_processes_see_changes(tmp_path: Path):
    path = tmp_path / "allowlist.json"
    service_view = AllowList(path)
    assert len(service_view) == 0
    pairing_view = AllowList(path)
    pairing_view.add(AllowedDevice(address="A4:C1:38:00:11:22", model="UA-651BLE", bonded=True))
    assert "a4:c1:38:00:11:22" in AllowList(path)
    assert service_view.reload_if_changed()
    assert "A4:C1:38:00:11:22" in service_view
    assert not service_view.reload_if_changed()
    pairing_view.add(AllowedDevice(address="D0:39:72:B4:50:1A"))
    assert pairing_view.remove("a4:c1:38:00:11:22")
    assert not pairing_view.remove("a4:c1:38:00:11:22")
    assert service_view.reload_if_changed()
    assert [d.address for d in service_view.devices] == ["D0:39:72:B4:50:1A"]
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_allowlist_counts_ignored_devices_once_each(tmp_path: Path):
    allowlist = AllowList(tmp_path / "allowlist.json")
    assert allowlist.note_ignored("aa:bb:cc:dd:ee:ff")
    assert not allowlist.note_ignored("AA:BB:CC:DD:EE:FF")
    assert allowlist.ignored["AA:BB:CC:DD:EE:FF"] == 2
    assert len(allowlist.ignored) == 1


def test_a_corrupt_allowlist_is_an_error_not_an_empty_list(tmp_path: Path):
    path = tmp_path / "allowlist.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(AllowListError, match="unreadable"):
        AllowList(path)


def test_addresses_are_normalized():
    assert normalize_address(" a4-c1-38-00-11-22 ") == "A4:C1:38:00:11:22"
    with pytest.raises(ValueError, match="not a Bluetooth address"):
        normalize_address("A4:C1:38:00:11")


def test_status_document():
    status = build_status(StatusInputs(
        started_monotonic=time.monotonic() - 10, now=datetime.now(UTC), outbox_depth=5, outbox_limit=5,
        devices=[DeviceState("A4:C1:38:00:11:22", model="UA-651BLE", battery=80,
                             last_seen=datetime(2026, 11, 29, 8, 58, 4, tzinfo=UTC), rssi=-61)],
        ignored_devices=2, malformed_payloads=1, last_error=None,
    ))
    assert status["state"] == "online"
    assert status["outbox_full"] is True and status["alarms"] == ["outbox_full"]
    assert status["uptime_s"] >= 10
    assert status["devices"] == [{"address": "A4:C1:38:00:11:22", "model": "UA-651BLE", "battery": 80,
                                  "last_seen": "2026-11-29T08:58:04Z", "rssi": -61}]
    assert GatewayStatus.model_validate_json(json.dumps(status)).outbox_depth == 5


def test_the_shipped_example_config_loads(repo_root: Path):
    settings = load_settings(repo_root / "deploy/gateway/gateway.toml.example")
    assert settings.gateway_id == "gw-0042"
    assert settings.mqtt_tls and settings.mqtt_port == 8883
    assert settings.environment == "production"


def test_the_systemd_unit_runs_the_real_command_hardened(repo_root: Path):
    lines = (repo_root / "deploy/gateway/homevitals-gateway.service").read_text().splitlines()
    settings: dict[str, list[str]] = {}
    for line in lines:
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    (exec_start,) = settings["ExecStart"]
    assert exec_start.split()[1:4] == ["gateway", "run", "--config"]
    assert settings["Type"] == ["notify"] and settings["WatchdogSec"]
    assert settings["User"] == ["homevitals"] and settings["SupplementaryGroups"] == ["bluetooth"]
    assert settings["StateDirectory"] == ["homevitals-gateway"]
    for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "RestrictAddressFamilies",
                      "CapabilityBoundingSet", "SystemCallFilter"):
        assert hardening in settings, hardening
    assert settings["CapabilityBoundingSet"] == [""]
    assert "AF_UNIX" in settings["RestrictAddressFamilies"][0]
    assert "Environment" in settings and any("GATEWAY_DATA_DIR=" in v for v in settings["Environment"])
