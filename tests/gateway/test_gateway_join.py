"""``homevitals gateway join``'s checks before and after the code is spent (gateway/join.py)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from gateway.errors import JoinError
from gateway.join import check_hub_url, check_writable, write_config
from homevitals.enrollment import EnrollmentBundle

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("hub", "url"), [
    ("https://hub.example.dk", "https://hub.example.dk/api/v1/enrollment/redeem"),
    ("https://hub.example.dk/", "https://hub.example.dk/api/v1/enrollment/redeem"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000/api/v1/enrollment/redeem"),
    ("http://localhost:8000", "http://localhost:8000/api/v1/enrollment/redeem"),
])
def test_the_redeem_url(hub, url):
    assert check_hub_url(hub) == url


def test_plain_http_to_another_machine_needs_consent():
    with pytest.raises(JoinError, match="plain http"):
        check_hub_url("http://hub.example.dk")
    assert check_hub_url("http://hub.example.dk", allow_http=True).startswith("http://hub.example.dk/")


@pytest.mark.parametrize("hub", ["hub.example.dk", "ftp://hub.example.dk", "https://"])
def test_what_is_not_a_hub_address_is_refused(hub):
    with pytest.raises(JoinError, match="--hub"):
        check_hub_url(hub)


def test_an_existing_config_is_kept_unless_forced(tmp_path: Path):
    config = tmp_path / "gateway.toml"
    check_writable(config, overwrite=False)
    config.write_text('id = "gw-old"\n')
    with pytest.raises(JoinError, match="--force"):
        check_writable(config, overwrite=False)
    check_writable(config, overwrite=True)


BUNDLE = EnrollmentBundle(gateway_id="gw-0042", mqtt_host="hub", mqtt_port=8883, mqtt_tls=True,
                          mqtt_ca_pem="-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
                          mqtt_username="gw-0042", mqtt_client_id="homevitals-gateway-gw-0042", mqtt_password="p")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root, as on the Pi")
def test_the_files_go_to_the_service_user(tmp_path: Path):
    joined = write_config(BUNDLE, tmp_path / "gateway.toml", owner="nobody")
    nobody = pwd.getpwnam("nobody").pw_uid
    assert joined.ca_path is not None
    assert {joined.config_path.stat().st_uid, joined.ca_path.stat().st_uid} == {nobody}


def test_an_unknown_owner_says_how_to_fix_it(tmp_path: Path):
    with pytest.raises(JoinError, match="chown"):
        write_config(BUNDLE, tmp_path / "gateway.toml", owner="no-such-user-here")
    assert (tmp_path / "gateway.toml").exists()  # written: only the owner is left to set
