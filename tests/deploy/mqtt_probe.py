"""A paho MQTT 5 client that records every answer of the broker, for refusal tests.

Each call waits for the broker's reply to it (CONNACK, SUBACK, PUBACK) and returns the reason
code, so a test asserts the code the broker sent rather than a timing.
"""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

NOT_AUTHORIZED = 0x87  # MQTT 5 reason code 135
BAD_CREDENTIALS = 0x86  # 134: bad user name or password
PACKET_TOO_LARGE = 0x95  # 149
CONNACK = -1
WAIT_S = 10.0


class Probe:
    """One connection. ``connack`` is the CONNACK's reason code; ``disconnects`` what followed."""

    def __init__(self, port: int, user: str | None, password: str | None, client_id: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.replies: dict[int, Any] = {}
        self.disconnects: list[Any] = []
        self.messages: list[mqtt.MQTTMessage] = []
        self._changed = threading.Condition()
        self.client.on_connect = lambda _c, _u, _f, reason, _p: self._reply(CONNACK, reason)
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p: self._reply(mid, codes[0])
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self._reply(mid, reason)
        self.client.on_disconnect = lambda _c, _u, _f, reason, _p: self._disconnected(reason)
        self.client.on_message = lambda _c, _u, message: self._message(message)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.connack: Any = self.wait(CONNACK)

    def _reply(self, key: int, reason: Any) -> None:
        with self._changed:
            self.replies[key] = reason
            self._changed.notify_all()

    def _disconnected(self, reason: Any) -> None:
        with self._changed:
            self.disconnects.append(reason)
            self._changed.notify_all()

    def _message(self, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait(self, key: int) -> Any:
        with self._changed:
            if not self._changed.wait_for(lambda: key in self.replies, timeout=WAIT_S):
                raise AssertionError(f"no answer from the broker to {key} (disconnects: {self.disconnects})")
            return self.replies[key]

    def wait_disconnected(self) -> Any:
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self.disconnects), timeout=WAIT_S):
                raise AssertionError("the broker kept the connection open")
            return self.disconnects[0]

    def wait_messages(self, count: int) -> list[mqtt.MQTTMessage]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout=WAIT_S):
                raise AssertionError(f"{len(self.messages)} of {count} messages arrived")
            return list(self.messages)

    @property
    def accepted(self) -> bool:
        return not self.connack.is_failure

    def subscribe(self, topic: str) -> Any:
        return self.wait(self.client.subscribe(topic, 1)[1])

    def publish(self, topic: str, payload: bytes = b"{}", *, retain: bool = False) -> Any:
        return self.wait(self.client.publish(topic, payload, qos=1, retain=retain).mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        # paho closes its wake-up socket pair only in __del__, which a reference cycle (these
        # callbacks) may run after the sockets' own finalizers: close them now.
        self.client._reset_sockets()


class Probes:
    """Makes probes and closes them all at the end of a test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.made: list[Probe] = []

    def connect(self, user: str | None, password: str | None, client_id: str) -> Probe:
        probe = Probe(self.port, user, password, client_id)
        self.made.append(probe)
        return probe

    def close(self) -> None:
        for probe in self.made:
            probe.close()
