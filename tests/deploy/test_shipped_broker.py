"""The broker configuration shipped for compose, loaded by a real Mosquitto.

mosquitto_support.shipped_broker runs deploy/mosquitto/dynsec-init.sh (with the real
mosquitto_ctrl) and deploy/mosquitto/mosquitto.conf, only its container paths and listener
moved to a temporary folder and a free port; bootstrap_hub then makes the hub's accounts as
``homevitals broker init`` does. Clients are paho-mqtt 2 over MQTT 5, as the gateway and
ingest use. What a hostile client is refused is in test_hostile_clients.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from deploy_support import DEPLOY, load_compose
from mosquitto_support import Broker, bootstrap_hub, run_dynsec_init, shipped_broker
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import SecretStr

from api.broker.bootstrap import HubAccounts, ingest_username
from api.broker.commands import gateway_client_id
from homevitals.contract import ReadingsBatch, readings_topic, status_topic
from homevitals.contract.acks import acks_topic
from homevitals.contract.example import EXAMPLE_BATCH
from homevitals.contract.models import MAX_MESSAGE_BYTES
from homevitals.settings import KNOWN_DEFAULT_SECRETS
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

MOSQUITTO_DIR = DEPLOY / "mosquitto"
GATEWAY_A, GATEWAY_B = "gw-test-a", "gw-test-b"
ADMIN_PASSWORD = "admin-0123456789abcdef"
INGEST_PASSWORD = "ingest-0123456789abcdef"
INGEST_CLIENT_IDS = ("homevitals-ingest-1", "homevitals-ingest-2")
INGEST_1, INGEST_2 = ingest_username(1), ingest_username(2)
PASSWORDS = {
    INGEST_1: INGEST_PASSWORD,
    INGEST_2: INGEST_PASSWORD,
    GATEWAY_A: "gateway-a-0123456789abcdef",
    GATEWAY_B: "gateway-b-0123456789abcdef",
}
CLIENT_IDS = {
    INGEST_1: INGEST_CLIENT_IDS[0],
    INGEST_2: INGEST_CLIENT_IDS[1],
    GATEWAY_A: gateway_client_id(GATEWAY_A),
    GATEWAY_B: gateway_client_id(GATEWAY_B),
}
SHARED_READINGS = "$share/ingest/homevitals/v1/gateways/+/readings"
STATUS = "homevitals/v1/gateways/+/status"
NOT_AUTHORIZED = 135  # MQTT 5 reason code, CONNACK and PUBACK


def init_env(**overrides: str) -> dict[str, str]:
    """The mosquitto-init job's environment."""
    return {"HOMEVITALS_ENVIRONMENT": "production", "MQTT_ADMIN_PASSWORD": ADMIN_PASSWORD, **overrides}


HUB_ACCOUNTS = HubAccounts(
    ingest_password=SecretStr(INGEST_PASSWORD),
    ingest_client_ids=INGEST_CLIENT_IDS,
    gateways={GATEWAY_A: SecretStr(PASSWORDS[GATEWAY_A]), GATEWAY_B: SecretStr(PASSWORDS[GATEWAY_B])},
)


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with shipped_broker(init_env()) as running:
        bootstrap_hub(running, HUB_ACCOUNTS)
        yield running


# ---- clients -------------------------------------------------------------------------------
class Client:
    """A paho-mqtt 2 client (MQTT 5) that records what happens to it."""

    def __init__(
        self,
        port: int,
        user: str | None,
        password: str | None = None,
        *,
        manual_ack: bool = False,
        tls_ca: Path | None = None,
    ) -> None:
        # Every account's client id is bound to it (the dynsec plugin refuses any other).
        client_id = CLIENT_IDS.get(user or "", f"test-{user}-{time.monotonic_ns()}")
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack
        )
        if user is not None:
            self.client.username_pw_set(user, password if password is not None else PASSWORDS[user])
        if tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.port = port
        self.connected = threading.Event()
        self.connack: Any = None
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.pubacks: dict[int, Any] = {}
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, message: self.messages.put(message)
        self.client.on_publish = self._on_publish

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connack = reason
        self.connected.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        self.pubacks[mid] = reason

    def connect(self) -> Any:
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        assert self.connected.wait(10), "no CONNACK"
        return self.connack

    def subscribe(self, *topics: str) -> list[Any]:
        done = threading.Event()
        granted: list[Any] = []

        def on_subscribe(_c: Any, _u: Any, _mid: int, codes: list[Any], _p: Any) -> None:
            granted.extend(codes)
            done.set()

        self.client.on_subscribe = on_subscribe
        self.client.subscribe([(topic, 1) for topic in topics])
        assert done.wait(10), "no SUBACK"
        return granted

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> Any:
        """Publish at QoS 1 and return the broker's PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        wait_until(lambda: info.mid in self.pubacks, 10, f"the broker's PUBACK of a publish to {topic}",
                   interval=0.01)
        return self.pubacks[info.mid]

    def received(self, timeout: float, expect: int | None = None) -> list[mqtt.MQTTMessage]:
        """Everything that arrives within ``timeout`` seconds; with ``expect``, stop once that
        many arrived and nothing more follows for a moment."""
        messages = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if expect is not None and len(messages) >= expect:
                left = min(left, 0.3)
            try:
                messages.append(self.messages.get(timeout=left))
            except queue.Empty:
                break
        return messages

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()
        self.client._reset_sockets()  # paho closes its socket pair only in __del__


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


def connected(clients: list[Client], broker: Broker, user: str | None, **kwargs: Any) -> Client:
    client = Client(broker.port, user, **kwargs)
    clients.append(client)
    reason = client.connect()
    assert not reason.is_failure, f"{user} refused: {reason}"
    return client


def batch_from(gateway_id: str) -> bytes:
    return json.dumps({**EXAMPLE_BATCH, "gateway_id": gateway_id}).encode()


# ---- authentication ------------------------------------------------------------------------
def test_an_anonymous_client_is_refused(broker: Broker, clients: list[Client]) -> None:
    client = Client(broker.port, None)
    clients.append(client)
    assert client.connect().value == NOT_AUTHORIZED


@pytest.mark.parametrize(("user", "password"), [(GATEWAY_A, "wrong-password-0123456789"), ("gw-nobody", "x" * 20)])
def test_a_wrong_password_or_unknown_user_is_refused(
    broker: Broker, clients: list[Client], user: str, password: str
) -> None:
    client = Client(broker.port, user, password)
    clients.append(client)
    assert client.connect().is_failure


def test_the_dynsec_file_holds_hashes_readable_by_the_broker_only(broker: Broker) -> None:
    document = json.loads(broker.dynsec_file.read_text())
    clients = {client["username"]: client for client in document["clients"]}
    assert set(clients) == {"hub_admin", *PASSWORDS}
    for user, client in clients.items():
        assert client["iterations"] >= 100 and client["salt"], f"{user}: no salted PBKDF2 hash"
    for password in (*PASSWORDS.values(), ADMIN_PASSWORD):
        assert password not in broker.dynsec_file.read_text()
    assert broker.dynsec_file.stat().st_mode & 0o077 == 0, "the dynsec file is readable by others"
    assert document["defaultACLAccess"] == {
        "publishClientSend": False, "publishClientReceive": True, "subscribe": False, "unsubscribe": True
    }


def test_the_admin_role_is_narrowed_to_the_control_api(broker: Broker) -> None:
    """dynsec init grants the admin '#'; broker init takes it away: the admin reads no health data."""
    document = json.loads(broker.dynsec_file.read_text())
    (admin,) = [role for role in document["roles"] if role["rolename"] == "admin"]
    assert {acl["topic"] for acl in admin["acls"]} == {"$CONTROL/dynamic-security/#"}


def test_the_message_size_limit_is_the_contracts() -> None:
    config = (MOSQUITTO_DIR / "mosquitto.conf").read_text()
    assert re.search(rf"^message_size_limit {MAX_MESSAGE_BYTES}$", config, re.MULTILINE)


# ---- authorisation -------------------------------------------------------------------------
def test_ingest_subscribes_through_the_shared_subscription_and_receives_gateway_a(
    broker: Broker, clients: list[Client]
) -> None:
    ingest = connected(clients, broker, INGEST_1)
    assert all(not code.is_failure for code in ingest.subscribe(SHARED_READINGS, STATUS))
    gateway = connected(clients, broker, GATEWAY_A)

    assert not gateway.publish(readings_topic(GATEWAY_A), batch_from(GATEWAY_A)).is_failure
    assert not gateway.publish(status_topic(GATEWAY_A), b'{"state":"online"}', retain=True).is_failure

    messages = {m.topic: m.payload for m in ingest.received(timeout=5, expect=2)}
    assert ReadingsBatch.model_validate_json(messages[readings_topic(GATEWAY_A)]).gateway_id == GATEWAY_A
    assert json.loads(messages[status_topic(GATEWAY_A)]) == {"state": "online"}


def test_two_ingest_workers_share_the_readings(broker: Broker, clients: list[Client]) -> None:
    """As compose runs them: each reading goes to exactly one of the two workers."""
    workers = [connected(clients, broker, user) for user in (INGEST_1, INGEST_2)]
    for worker in workers:
        worker.subscribe(SHARED_READINGS)
    gateway = connected(clients, broker, GATEWAY_A)
    for i in range(20):
        gateway.publish(readings_topic(GATEWAY_A), str(i).encode())
    shares = [[int(m.payload) for m in worker.received(timeout=3, expect=10)] for worker in workers]
    assert sorted(shares[0] + shares[1]) == list(range(20)), "each reading once"
    assert all(shares), f"both workers get readings: {[len(s) for s in shares]}"


def test_gateway_a_cannot_publish_under_gateway_b(broker: Broker, clients: list[Client]) -> None:
    ingest = connected(clients, broker, INGEST_1)
    ingest.subscribe(SHARED_READINGS, STATUS)
    forged = [
        (readings_topic(GATEWAY_B), batch_from(GATEWAY_B)),
        (status_topic(GATEWAY_B), b'{"state":"offline"}'),
        ("homevitals/v1/gateways/gw-test-a-b/readings", batch_from(GATEWAY_A)),  # a prefix is not its id
    ]
    for topic, payload in forged:
        # Mosquitto answers PUBACK "not authorised" and (2.0) may then drop the connection,
        # so each attempt gets its own connection.
        reason = connected(clients, broker, GATEWAY_A).publish(topic, payload, retain=topic.endswith("/status"))
        assert reason is not None and reason.value == NOT_AUTHORIZED, f"{topic}: PUBACK {reason}"
    # Its own topic works, and would arrive after any forged message that got through.
    assert not connected(clients, broker, GATEWAY_A).publish(readings_topic(GATEWAY_A), batch_from(GATEWAY_A)).is_failure

    # (Retained status left by other tests arrives flagged retain; live messages never are.)
    topics = [m.topic for m in ingest.received(timeout=2) if not m.retain]
    assert topics == [readings_topic(GATEWAY_A)]


def test_the_last_will_of_gateway_a_reaches_ingest(broker: Broker, clients: list[Client]) -> None:
    ingest = connected(clients, broker, INGEST_1)
    ingest.subscribe(STATUS)
    gateway = Client(broker.port, GATEWAY_A)
    gateway.client.will_set(status_topic(GATEWAY_A), b'{"state":"offline"}', qos=1, retain=True)
    clients.append(gateway)
    assert not gateway.connect().is_failure
    gateway.client._sock_close()
    gateway.client.loop_stop()
    messages = [m for m in ingest.received(timeout=5, expect=1) if m.payload == b'{"state":"offline"}']
    assert [m.topic for m in messages] == [status_topic(GATEWAY_A)]


def test_a_gateway_reads_nothing(broker: Broker, clients: list[Client]) -> None:
    snoop = connected(clients, broker, GATEWAY_B)
    snoop.subscribe("#", "homevitals/v1/gateways/+/readings", SHARED_READINGS, "$SYS/#")
    connected(clients, broker, GATEWAY_A).publish(readings_topic(GATEWAY_A), batch_from(GATEWAY_A))
    assert snoop.received(timeout=2) == []


def test_ingest_publishes_nothing(broker: Broker, clients: list[Client]) -> None:
    listener = connected(clients, broker, INGEST_1)
    listener.subscribe(SHARED_READINGS)
    impostor = connected(clients, broker, INGEST_2)
    reason = impostor.publish(readings_topic(GATEWAY_A), batch_from(GATEWAY_A))
    assert reason is not None and reason.value == NOT_AUTHORIZED
    assert listener.received(timeout=1.5) == []


def test_ingest_acks_reach_only_the_gateway_they_name(broker: Broker, clients: list[Client]) -> None:
    gateway_a = connected(clients, broker, GATEWAY_A)
    granted = gateway_a.subscribe(acks_topic(GATEWAY_A), "homevitals/v1/gateways/+/acks")
    assert len(granted) == 2
    ingest = connected(clients, broker, INGEST_1)
    for gateway in (GATEWAY_A, GATEWAY_B):
        reason = ingest.publish(acks_topic(gateway), f'{{"for":"{gateway}"}}'.encode())
        assert reason is not None and not reason.is_failure, reason
    received = gateway_a.received(timeout=3, expect=1)
    # Through both of its subscriptions, but only its own ack: gateway B's is not delivered to it.
    assert {m.topic for m in received} == {acks_topic(GATEWAY_A)}
    assert {m.payload for m in received} == {f'{{"for":"{GATEWAY_A}"}}'.encode()}


def test_the_compose_healthcheck_command_works_and_fails_with_a_wrong_password(broker: Broker) -> None:
    """The healthcheck of docker-compose.yml, run as written (port and password filled in)."""
    test = load_compose()["services"]["mosquitto"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    command = test[1].replace("$$", "$").replace("-p 1883", f"-p {broker.port}")
    assert shlex.split(command)[0] == "mosquitto_ctrl"
    env = {"PATH": os.environ["PATH"], "MQTT_ADMIN_PASSWORD": ADMIN_PASSWORD}
    result = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 0, result.stderr
    env["MQTT_ADMIN_PASSWORD"] = "wrong-password-0123456789"
    assert subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=20, check=False).returncode


# ---- no silent loss ------------------------------------------------------------------------
def test_a_burst_survives_while_ingest_holds_its_acks(broker: Broker, clients: list[Client]) -> None:
    """3,000 QoS 1 messages to a subscriber that acks none of them: all arrive.
    Mosquitto's defaults would deliver about 1,020 and drop the rest (DESIGN.md)."""
    total = 3000
    ingest = Client(broker.port, INGEST_1, manual_ack=True)
    clients.append(ingest)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 300
    ingest.client.connect("127.0.0.1", broker.port, clean_start=True, properties=properties)
    ingest.client.loop_start()
    assert ingest.connected.wait(10)
    ingest.subscribe(SHARED_READINGS)

    gateway = Client(broker.port, GATEWAY_A)
    clients.append(gateway)
    gateway.client.max_inflight_messages_set(50)  # a bounded window, as the gateway uses
    assert not gateway.connect().is_failure
    infos = [gateway.client.publish(readings_topic(GATEWAY_A), str(i).encode(), qos=1) for i in range(total)]
    for info in infos:
        info.wait_for_publish(60)

    received = ingest.received(timeout=5, expect=total)
    while len(received) < total:
        more = ingest.received(timeout=3)
        if not more:
            break
        received += more
    assert len(received) == total, f"{len(received)} of {total} arrived"
    assert sorted(int(m.payload) for m in received) == list(range(total))


# ---- TLS -----------------------------------------------------------------------------------
def test_the_tls_listener_example_works(clients: list[Client]) -> None:
    with shipped_broker(init_env(), tls=True) as broker:
        bootstrap_hub(broker, HUB_ACCOUNTS)
        assert broker.tls_port is not None
        ingest = connected(clients, broker, INGEST_1)
        ingest.subscribe(SHARED_READINGS)
        gateway = Client(broker.tls_port, GATEWAY_A, tls_ca=broker.ca_file)
        clients.append(gateway)
        assert not gateway.connect().is_failure, broker.log
        assert not gateway.publish(readings_topic(GATEWAY_A), batch_from(GATEWAY_A)).is_failure
        assert [m.topic for m in ingest.received(timeout=5, expect=1)] == [readings_topic(GATEWAY_A)]
        # The same accounts and ACL apply on the TLS listener.
        anonymous = Client(broker.tls_port, None, tls_ca=broker.ca_file)
        clients.append(anonymous)
        assert anonymous.connect().value == NOT_AUTHORIZED
        for client in clients:
            client.close()


# ---- dynsec-init.sh ------------------------------------------------------------------------
def test_dynsec_init_knows_the_same_default_secrets_as_the_services() -> None:
    script = (MOSQUITTO_DIR / "dynsec-init.sh").read_text()
    match = re.search(r'^KNOWN_DEFAULT_SECRETS="([^"]*)"', script, re.MULTILINE)
    assert match
    assert set(match.group(1).split()) == KNOWN_DEFAULT_SECRETS - {""}


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"MQTT_ADMIN_PASSWORD": "changeme"}, "published default"),
        ({"MQTT_ADMIN_PASSWORD": "short-one"}, "shorter than 16"),
        ({"MQTT_ADMIN_PASSWORD": ""}, "MQTT_ADMIN_PASSWORD is not set"),
    ],
)
def test_dynsec_init_refuses_an_unsafe_admin_password(tmp_path: Path, env: dict[str, str], complaint: str) -> None:
    result = run_dynsec_init(tmp_path / "dynamic-security.json", init_env(**env))
    assert result.returncode != 0
    assert complaint in result.stderr
    assert not (tmp_path / "dynamic-security.json").exists()


def test_dynsec_init_in_development_accepts_a_short_password(tmp_path: Path) -> None:
    result = run_dynsec_init(
        tmp_path / "dynamic-security.json", init_env(HOMEVITALS_ENVIRONMENT="development", MQTT_ADMIN_PASSWORD="dev")
    )
    assert result.returncode == 0, result.stderr


def test_dynsec_init_leaves_an_existing_file_with_its_accounts_alone(tmp_path: Path) -> None:
    dynsec_file = tmp_path / "dynamic-security.json"
    assert run_dynsec_init(dynsec_file, init_env()).returncode == 0
    first = dynsec_file.read_bytes()
    assert run_dynsec_init(dynsec_file, init_env(MQTT_ADMIN_PASSWORD="another-0123456789abcdef")).returncode == 0
    assert dynsec_file.read_bytes() == first
