"""What Mosquitto 2.0.11's dynamic security plugin refuses, observed on a real broker.

A record of the behaviour the dynsec set-up (issue 15) is built on: LocalMosquitto's
``dynsec=True`` mode, accounts made with ``mosquitto_ctrl`` as an operator would.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devstack.services.mosquitto import DYNSEC_ADMIN, LocalMosquitto

pytestmark = pytest.mark.integration

PASSWORD = "gateway-0123456789abcdef"
NOT_AUTHORIZED = 135


@pytest.fixture(scope="module")
def broker() -> Iterator[LocalMosquitto]:
    with LocalMosquitto(dynsec=True) as running:
        for gateway in ("gw-a", "gw-b"):
            ctrl(running, "createRole", gateway)
            ctrl(running, "addRoleACL", gateway, "publishClientSend", f"homevitals/v1/gateways/{gateway}/readings", "allow")
            ctrl(running, "addRoleACL", gateway, "subscribeLiteral", f"homevitals/v1/gateways/{gateway}/acks", "allow")
            ctrl(running, "createClient", gateway, "-p", PASSWORD, "-c", gateway)
            ctrl(running, "addClientRole", gateway, gateway)
        yield running


def ctrl(broker: LocalMosquitto, *args: str) -> None:
    command = ["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(broker.port), "-u", DYNSEC_ADMIN,
               "-P", broker.admin_password, "dynsec", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 0, result.stderr


class Probe:
    def __init__(self, broker: LocalMosquitto, user: str, client_id: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(user, PASSWORD)
        self.connack: Any = None
        self.replies: dict[int, Any] = {}
        self.answered = threading.Condition()
        self.client.on_connect = lambda _c, _u, _f, reason, _p: self._answer(-1, reason)
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p: self._answer(mid, codes[0])
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self._answer(mid, reason)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        self.connack = self.wait(-1)

    def _answer(self, mid: int, reason: Any) -> None:
        with self.answered:
            self.replies[mid] = reason
            self.answered.notify_all()

    def wait(self, mid: int) -> Any:
        with self.answered:
            assert self.answered.wait_for(lambda: mid in self.replies, timeout=10), "no answer from the broker"
            return self.replies[mid]

    def subscribe(self, topic: str) -> Any:
        return self.wait(self.client.subscribe(topic, 1)[1])

    def publish(self, topic: str) -> Any:
        return self.wait(self.client.publish(topic, b"{}", qos=1).mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def probes() -> Iterator[list[Probe]]:
    made: list[Probe] = []
    yield made
    for probe in made:
        probe.close()


def probe(probes: list[Probe], broker: LocalMosquitto, user: str, client_id: str) -> Probe:
    made = Probe(broker, user, client_id)
    probes.append(made)
    return made


@pytest.mark.parametrize(("user", "client_id"), [("gw-a", "some-other-id"), ("gw-b", "gw-a")])
def test_a_client_id_bound_to_an_account_is_enforced_at_connect(
    broker: LocalMosquitto, probes: list[Probe], user: str, client_id: str
) -> None:
    assert probe(probes, broker, user, client_id).connack.value == NOT_AUTHORIZED


@pytest.mark.parametrize(
    "topic",
    [
        "$share/ingest/homevitals/v1/gateways/+/readings",
        "$share/any/homevitals/v1/gateways/gw-a/acks",  # $share is checked as its own topic
        "homevitals/v1/gateways/gw-b/acks",
    ],
)
def test_a_subscription_outside_the_role_is_refused_in_the_suback(
    broker: LocalMosquitto, probes: list[Probe], topic: str
) -> None:
    assert probe(probes, broker, "gw-a", "gw-a").subscribe(topic).value == NOT_AUTHORIZED


def test_the_own_acks_topic_is_granted_and_another_gateways_topic_refused(
    broker: LocalMosquitto, probes: list[Probe]
) -> None:
    gateway = probe(probes, broker, "gw-a", "gw-a")
    assert not gateway.subscribe("homevitals/v1/gateways/gw-a/acks").is_failure
    assert not gateway.publish("homevitals/v1/gateways/gw-a/readings").is_failure
    assert gateway.publish("homevitals/v1/gateways/gw-b/readings").value == NOT_AUTHORIZED
