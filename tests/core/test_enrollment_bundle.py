"""The enrollment bundle and the config file both sides write (homevitals/enrollment.py)."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path, PurePosixPath

import pytest

from gateway.settings import load_settings
from homevitals.enrollment import EnrollmentBundle, write_bundle_files

pytestmark = pytest.mark.unit

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
BUNDLE = EnrollmentBundle(
    gateway_id="gw-0042", mqtt_host="mqtt.hub.example", mqtt_port=8883, mqtt_tls=True, mqtt_ca_pem=CA,
    mqtt_username="gw-0042", mqtt_client_id="homevitals-gateway-gw-0042", mqtt_password='s3cret-"quoted"',
)
GOLDEN_TOML = (
    "# homevitals gateway gw-0042: written from its one-time enrollment bundle.\n"
    "# It holds the gateway's broker password: keep it mode 0600, owned by the service user.\n"
    'id = "gw-0042"\n'
    'environment = "production"\n'
    'mqtt_host = "mqtt.hub.example"\n'
    "mqtt_port = 8883\n"
    "mqtt_tls = true\n"
    'mqtt_username = "gw-0042"\n'
    'mqtt_client_id = "homevitals-gateway-gw-0042"\n'
    'mqtt_password = "s3cret-\\"quoted\\""\n'
    'mqtt_ca_file = "/etc/homevitals/hub-ca.pem"\n'
)


def test_the_config_file_text_is_pinned():
    assert BUNDLE.to_toml(ca_file=PurePosixPath("/etc/homevitals/hub-ca.pem")) == GOLDEN_TOML


def test_the_password_never_shows_in_the_models_text():
    assert "s3cret" not in repr(BUNDLE) and "s3cret" not in BUNDLE.model_dump_json()
    assert EnrollmentBundle.model_validate_json(BUNDLE.to_json_bytes()) == BUNDLE


def test_written_files_are_private_and_the_gateway_reads_them(tmp_path: Path):
    previous = os.umask(0)  # the widest umask: the mode still comes out 0600
    try:
        ca = write_bundle_files(BUNDLE, tmp_path / "etc" / "gateway.toml")
    finally:
        os.umask(previous)
    config = tmp_path / "etc" / "gateway.toml"
    assert ca == tmp_path / "etc" / "hub-ca.pem" and ca.read_text() == CA
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(ca.stat().st_mode) == 0o644
    assert tomllib.loads(config.read_text())["mqtt_ca_file"] == str(ca)
    settings = load_settings(config)
    assert (settings.gateway_id, settings.mqtt_username, settings.mqtt_client_id) == (
        "gw-0042", "gw-0042", "homevitals-gateway-gw-0042")
    assert settings.mqtt_password is not None and settings.mqtt_password.get_secret_value() == 's3cret-"quoted"'
    assert settings.mqtt_ca_file == ca and settings.mqtt_tls
    assert [p.name for p in (tmp_path / "etc").iterdir() if p.name.startswith(".")] == []  # no temp files
