"""How to reach the broker: one endpoint type and one settings mixin for every MQTT client.

The gateway's publisher and ingest's consumer both connect with an :class:`MqttEndpoint`
(host, port, client id, credentials, TLS, keepalive), built at the edge from the
``{PREFIX}MQTT_*`` variables that :class:`MqttClientSettings` declares once for
``GATEWAY_`` and ``INGEST_``. The core does not depend on paho: :meth:`MqttEndpoint.configure`
takes anything with paho's two ``Client`` methods it calls.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self

from pydantic import Field, SecretStr, model_validator

from homevitals.errors import ConfigurationError
from homevitals.settings import ServiceSettings


class _PahoClient(Protocol):
    """The two paho ``Client`` methods used here."""

    def username_pw_set(self, username: str | None, password: str | None = None) -> None: ...
    def tls_set_context(self, context: ssl.SSLContext | None = None) -> None: ...


def client_certificate_problem(cert_file: Path | None, key_file: Path | None) -> str | None:
    """Mutual TLS needs the certificate and its key; one without the other is a mistake."""
    if (cert_file is None) != (key_file is None):
        return "set both the client certificate and its key, or neither"
    return None


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    """A broker and how this client logs in to it."""

    host: str
    port: int
    client_id: str
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None  # None: the system CAs
    cert_file: Path | None = None  # client certificate (PEM), with key_file
    key_file: Path | None = None
    keepalive_s: int = 60

    def __post_init__(self) -> None:
        problem = client_certificate_problem(self.cert_file, self.key_file)
        if problem is not None:
            raise ConfigurationError("cert_file/key_file", problem)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def configure(self, client: _PahoClient) -> None:
        """Username/password, then TLS verifying the broker against the system CAs (or
        ``ca_file``) with an optional client certificate. A missing file raises here, at
        construction, rather than as an unverified connection later."""
        if self.username is not None:
            password = self.password.get_secret_value() if self.password is not None else None
            client.username_pw_set(self.username, password)
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            if self.cert_file is not None and self.key_file is not None:
                context.load_cert_chain(str(self.cert_file), str(self.key_file))
            client.tls_set_context(context)


class MqttClientSettings(ServiceSettings):
    """The ``{PREFIX}MQTT_*`` settings of a service that connects to the broker.

    A service's settings subclass this with their ``env_prefix`` (``GATEWAY_``, ``INGEST_``)
    and may redeclare a field for another default (ingest's keepalive and client id).
    """

    mqtt_host: str = Field(default="localhost", description="Broker host name.")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="Broker port (8883 for TLS).")
    mqtt_username: str | None = Field(default=None, description="Broker user name.")
    mqtt_password: SecretStr | None = Field(default=None, description="Broker password.")
    mqtt_tls: bool = Field(default=False, description="Connect with TLS.")
    mqtt_ca_file: Path | None = Field(default=None, description="CA bundle; system CAs when unset.")
    mqtt_cert_file: Path | None = Field(default=None, description="Client certificate (PEM), with the key.")
    mqtt_key_file: Path | None = Field(default=None, description="Client certificate key (PEM).")
    mqtt_client_id: str | None = Field(default=None, description="MQTT client id.")
    mqtt_keepalive_s: int = Field(default=60, ge=5, le=3600, description="MQTT keepalive.")

    def env_name(self, field_name: str) -> str:
        """The variable that sets ``field_name``: ``GATEWAY_MQTT_PASSWORD``."""
        return f"{self.model_config.get('env_prefix', '')}{field_name}".upper()

    @model_validator(mode="after")
    def _client_certificate_pair(self) -> Self:
        if client_certificate_problem(self.mqtt_cert_file, self.mqtt_key_file) is not None:
            raise ValueError(
                f"set both {self.env_name('mqtt_cert_file')} and {self.env_name('mqtt_key_file')}, or neither"
            )
        return self

    def check_mqtt_password(self) -> None:
        """In production, a broker account needs a real password."""
        if self.mqtt_username is not None:
            password = self.mqtt_password.get_secret_value() if self.mqtt_password is not None else None
            self.require_secret(self.env_name("mqtt_password"), password)

    def mqtt_endpoint(self, default_client_id: str = "") -> MqttEndpoint:
        """The endpoint these settings describe; ``default_client_id`` when none is set."""
        return MqttEndpoint(
            host=self.mqtt_host,
            port=self.mqtt_port,
            client_id=self.mqtt_client_id or default_client_id,
            username=self.mqtt_username,
            password=self.mqtt_password,
            tls=self.mqtt_tls,
            ca_file=self.mqtt_ca_file,
            cert_file=self.mqtt_cert_file,
            key_file=self.mqtt_key_file,
            keepalive_s=self.mqtt_keepalive_s,
        )
