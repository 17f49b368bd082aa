"""Credentials and TLS applied to a paho client (the real paho Client class)."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from homevitals.mqtt_tls import apply_credentials_and_tls

pytestmark = pytest.mark.unit


class RecordingClient(mqtt.Client):
    """paho's client, recording what it was given."""

    def __init__(self) -> None:
        super().__init__(CallbackAPIVersion.VERSION2)
        self.given: dict[str, object] = {}

    def username_pw_set(self, username, password=None):
        self.given["credentials"] = (username, password)
        super().username_pw_set(username, password)

    def tls_set_context(self, context=None):
        self.given["context"] = context
        super().tls_set_context(context)


def test_plain_client_gets_neither_credentials_nor_tls():
    client = RecordingClient()
    apply_credentials_and_tls(client, username=None, password=None, tls=False)
    assert client.given == {}


def test_credentials_and_verifying_tls_context():
    client = RecordingClient()
    apply_credentials_and_tls(client, username="gw-0042", password="s3cret", tls=True)
    assert client.given["credentials"] == ("gw-0042", "s3cret")
    context = client.given["context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_missing_ca_file_is_an_error_not_an_unverified_connection(tmp_path):
    with pytest.raises(FileNotFoundError):
        apply_credentials_and_tls(RecordingClient(), username=None, password=None, tls=True,
                                  ca_file=tmp_path / "missing-ca.pem")
