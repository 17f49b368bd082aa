"""The root of homevitals' typed error hierarchy.

Every service derives its errors from :class:`HomevitalsError`, and each error carries the
data that explains it (as bleak's ``exc.py`` and aiomqtt's exceptions do), so callers can
act on fields instead of parsing messages.
"""

from __future__ import annotations


class HomevitalsError(Exception):
    """Base class of every error homevitals raises on purpose."""


class ConfigurationError(HomevitalsError):
    """A setting is missing or unsafe. The message names the variable to set."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class MqttError(HomevitalsError):
    """A broker refused something, or the MQTT client could not do what it was asked."""


class MqttCodeError(MqttError):
    """A failure the broker or paho reported as a code (like aiomqtt's ``MqttCodeError``).

    ``reason_code`` is the MQTT 5 reason code (>= 0x80 is a failure), the MQTT 3.1.1 CONNACK
    return code, or paho's ``MQTTErrorCode`` for a request that never left the client;
    ``reason`` is its text.
    """

    def __init__(self, reason_code: int, reason: str, what: str) -> None:
        self.reason_code = reason_code
        self.reason = reason
        super().__init__(f"{what}: {reason} (code {reason_code})")


class MqttConnectError(MqttCodeError):
    """The broker refused the connection (bad credentials, a client id it will not accept)."""

    def __init__(self, reason_code: int, reason: str, *, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(
            reason_code,
            reason,
            f"broker {host}:{port} refused the connection; check the MQTT user name, password and "
            "client id against the broker's accounts",
        )


class MqttPublishError(MqttCodeError):
    """A publish was refused by the broker (a failure PUBACK) or not queued by the client."""

    def __init__(self, reason_code: int, reason: str, *, topic: str) -> None:
        self.topic = topic
        super().__init__(reason_code, reason, f"publish to {topic}")


class MqttSubscribeError(MqttCodeError):
    """The broker refused a subscription (its ACL does not let this account read the topic)."""

    def __init__(self, reason_code: int, reason: str, *, topic: str) -> None:
        self.topic = topic
        super().__init__(reason_code, reason, f"subscription to {topic}")
