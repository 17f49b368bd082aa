"""The one broker endpoint type, its settings mixin and the typed MQTT errors.

The paho client is the real one; the test only records what it was given.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr, ValidationError

from gateway.settings import GatewaySettings
from homevitals.errors import ConfigurationError, MqttCodeError, MqttConnectError, MqttError, MqttPublishError
from homevitals.mqtt_endpoint import MqttEndpoint
from ingest.settings import IngestSettings

pytestmark = pytest.mark.unit

SETTINGS_CLASSES = [("GATEWAY_", GatewaySettings), ("INGEST_", IngestSettings)]


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


def test_plain_endpoint_gives_neither_credentials_nor_tls():
    client = RecordingClient()
    MqttEndpoint(host="hub", port=1883, client_id="c").configure(client)
    assert client.given == {}


def test_credentials_and_verifying_tls_context():
    client = RecordingClient()
    endpoint = MqttEndpoint(host="hub", port=8883, client_id="c", username="gw-0042",
                            password=SecretStr("s3cret"), tls=True)
    endpoint.configure(client)
    assert client.given["credentials"] == ("gw-0042", "s3cret")
    context = client.given["context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert "s3cret" not in repr(endpoint)


def test_missing_ca_file_is_an_error_not_an_unverified_connection(tmp_path: Path):
    endpoint = MqttEndpoint(host="hub", port=8883, client_id="c", tls=True, ca_file=tmp_path / "missing-ca.pem")
    with pytest.raises(FileNotFoundError):
        endpoint.configure(RecordingClient())


def test_client_certificate_without_its_key_is_refused():
    with pytest.raises(ConfigurationError, match="both the client certificate and its key"):
        MqttEndpoint(host="hub", port=8883, client_id="c", tls=True, cert_file=Path("/etc/gw.pem"))


@pytest.mark.parametrize(("prefix", "settings_class"), SETTINGS_CLASSES)
def test_both_services_read_the_same_variable_names(prefix, settings_class, monkeypatch, tmp_path):
    values = {
        "MQTT_HOST": "hub.example", "MQTT_PORT": "8883", "MQTT_USERNAME": "svc", "MQTT_PASSWORD": "pw-1",
        "MQTT_TLS": "true", "MQTT_CA_FILE": str(tmp_path / "ca.pem"), "MQTT_CERT_FILE": str(tmp_path / "c.pem"),
        "MQTT_KEY_FILE": str(tmp_path / "k.pem"), "MQTT_CLIENT_ID": "client-7", "MQTT_KEEPALIVE_S": "45",
    }
    for name, value in values.items():
        monkeypatch.setenv(prefix + name, value)
    endpoint = settings_class().mqtt_endpoint()
    assert endpoint == MqttEndpoint(
        host="hub.example", port=8883, client_id="client-7", username="svc", password=SecretStr("pw-1"),
        tls=True, ca_file=tmp_path / "ca.pem", cert_file=tmp_path / "c.pem", key_file=tmp_path / "k.pem",
        keepalive_s=45,
    )
    assert isinstance(settings_class().mqtt_password, SecretStr)


def test_each_service_keeps_its_own_defaults(monkeypatch):
    for prefix, _ in SETTINGS_CLASSES:
        for name in ("MQTT_KEEPALIVE_S", "MQTT_CLIENT_ID"):
            monkeypatch.delenv(prefix + name, raising=False)
    gateway = GatewaySettings()
    assert gateway.mqtt_endpoint(default_client_id="homevitals-gateway-gw-0042").client_id == (
        "homevitals-gateway-gw-0042")
    assert gateway.mqtt_keepalive_s == 60
    ingest = IngestSettings()
    assert ingest.mqtt_keepalive_s == 30
    assert ingest.mqtt_client_id.startswith("homevitals-ingest-")


@pytest.mark.parametrize(("prefix", "settings_class"), SETTINGS_CLASSES)
def test_certificate_pair_check_names_the_service_variables(prefix, settings_class, monkeypatch):
    monkeypatch.setenv(prefix + "MQTT_CERT_FILE", "/etc/client.pem")
    monkeypatch.delenv(prefix + "MQTT_KEY_FILE", raising=False)
    with pytest.raises(ValidationError, match=f"set both {prefix}MQTT_CERT_FILE and {prefix}MQTT_KEY_FILE"):
        settings_class()


@pytest.mark.parametrize(("prefix", "settings_class"), SETTINGS_CLASSES)
def test_production_refuses_a_broker_account_without_a_real_password(prefix, settings_class, monkeypatch):
    monkeypatch.setenv(prefix + "ENVIRONMENT", "production")
    monkeypatch.setenv(prefix + "MQTT_USERNAME", "svc")
    monkeypatch.setenv(prefix + "MQTT_PASSWORD", "changeme")
    with pytest.raises(ConfigurationError) as refused:
        settings_class().check_mqtt_password()
    assert refused.value.setting == f"{prefix}MQTT_PASSWORD"
    monkeypatch.setenv(prefix + "MQTT_PASSWORD", "a-unique-long-password")
    settings_class().check_mqtt_password()


def test_mqtt_errors_carry_the_reason_code():
    refused = MqttConnectError(135, "Not authorized", host="hub", port=1883)
    assert isinstance(refused, MqttCodeError)
    assert isinstance(refused, MqttError)
    assert (refused.reason_code, refused.reason, refused.host, refused.port) == (135, "Not authorized", "hub", 1883)
    assert "hub:1883" in str(refused) and "Not authorized" in str(refused) and "135" in str(refused)
    publish = MqttPublishError(15, "Message queue full.", topic="homevitals/v1/gateways/gw-0042/readings")
    assert publish.topic.endswith("/readings") and publish.reason_code == 15
