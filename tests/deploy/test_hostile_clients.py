"""A hostile client against the SHIPPED broker configuration: every refusal of issue 15.

The broker is deploy/mosquitto/mosquitto.conf with the dynamic security plugin, its file made
by deploy/mosquitto/dynsec-init.sh and its accounts by ``homevitals broker init``'s bootstrap
(tests/deploy/mosquitto_support.py), exactly as compose runs them. The hostile client holds a
real gateway account (``gw-evil``) and tries what issue 15 found possible with the old
password-file + ACL set-up. Each case asserts the MQTT 5 reason code the broker answers with;
the last one does it all while a real gateway streams readings through a real ingest worker
into TimescaleDB, and counts them there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mosquitto_support import Broker, bootstrap_hub, shipped_broker
from mqtt_probe import BAD_CREDENTIALS, NOT_AUTHORIZED, Probe, Probes
from pydantic import SecretStr

from api.broker.bootstrap import HubAccounts, ingest_username
from api.broker.commands import gateway_client_id
from homevitals.contract import readings_topic, status_topic
from homevitals.contract.acks import acks_topic
from homevitals.contract.example import EXAMPLE_BATCH
from homevitals.contract.models import MAX_MESSAGE_BYTES
from tests.chaos.chaos_support import GatewayProcess, assert_exact, prefill_outbox, settle
from tests.ingest.helpers import WorkerProcess
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

ADMIN_PASSWORD = "admin-0123456789abcdef"
INGEST_PASSWORD = "ingest-0123456789abcdef"
INGEST_CLIENT_ID = "homevitals-ingest-1"
INGEST = ingest_username(1)
VICTIM, EVIL = "gw-victim", "gw-evil"
PASSWORDS = {VICTIM: "victim-0123456789abcdef", EVIL: "evil-0123456789abcdef"}
SHARED_READINGS = "$share/ingest/homevitals/v1/gateways/+/readings"
PROTOCOL_ERROR = 0x82


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with shipped_broker({"HOMEVITALS_ENVIRONMENT": "production", "MQTT_ADMIN_PASSWORD": ADMIN_PASSWORD}) as running:
        bootstrap_hub(
            running,
            HubAccounts(
                ingest_password=SecretStr(INGEST_PASSWORD),
                ingest_client_ids=(INGEST_CLIENT_ID,),
                gateways={gateway: SecretStr(password) for gateway, password in PASSWORDS.items()},
            ),
        )
        yield running


@pytest.fixture
def probes(broker: Broker) -> Iterator[Probes]:
    made = Probes(broker.port)
    yield made
    made.close()


def evil(probes: Probes) -> Probe:
    probe = probes.connect(EVIL, PASSWORDS[EVIL], gateway_client_id(EVIL))
    assert probe.accepted, probe.connack
    return probe


def ingest(probes: Probes) -> Probe:
    probe = probes.connect(INGEST, INGEST_PASSWORD, INGEST_CLIENT_ID)
    assert probe.accepted, probe.connack
    return probe


def forged_batch(gateway_id: str) -> bytes:
    return json.dumps({**EXAMPLE_BATCH, "gateway_id": gateway_id}).encode()


# ---- subscriptions: refused at SUBSCRIBE, not granted and silently dropped -------------------
@pytest.mark.parametrize(
    "topic",
    [
        SHARED_READINGS,  # joining the ingest group: the 500 + 500 lost readings
        "$share/ingest/homevitals/v1/gateways/gw-evil/acks",  # even a share of its own topic
        "$share/evil/homevitals/v1/gateways/+/readings",
    ],
)
def test_a_gateway_may_not_join_any_shared_subscription(probes: Probes, topic: str) -> None:
    assert evil(probes).subscribe(topic).value == NOT_AUTHORIZED


@pytest.mark.parametrize(
    "topic", [acks_topic(VICTIM), "homevitals/v1/gateways/+/acks", "homevitals/v1/gateways/+/readings", "#"]
)
def test_a_gateway_may_not_read_other_gateways_acks_or_readings(probes: Probes, topic: str) -> None:
    assert evil(probes).subscribe(topic).value == NOT_AUTHORIZED


def test_a_gateway_still_gets_its_own_acks(probes: Probes) -> None:
    """The refusals above are specific: the one subscription a gateway needs is granted."""
    assert not evil(probes).subscribe(acks_topic(EVIL)).is_failure


# ---- publishing ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("topic", "retain"),
    [
        (readings_topic(VICTIM), False),  # speaking for another gateway
        (status_topic(VICTIM), True),  # marking it offline, retained
        (acks_topic(EVIL), False),  # forging the hub's commit ack to itself
        ("homevitals/v1/gateways/gw-evil-b/readings", False),  # its id as a prefix is not its id
    ],
)
def test_a_gateway_may_not_publish_for_another_or_as_the_hub(probes: Probes, topic: str, retain: bool) -> None:
    refused = evil(probes).publish(topic, forged_batch(VICTIM), retain=retain)
    assert refused.value == NOT_AUTHORIZED


@pytest.mark.parametrize("topic", ["homevitals/v1/gateways/gw-evil/parking", "parking/lot", "$SYS/evil"])
def test_a_gateway_may_not_park_retained_messages_anywhere_else(probes: Probes, topic: str) -> None:
    """Issue 15: 20 x 5 MB retained under %u/# were accepted. Now only its status may be retained."""
    assert evil(probes).publish(topic, b"x" * 1024, retain=True).value == NOT_AUTHORIZED
    assert not evil(probes).publish(status_topic(EVIL), b'{"state":"online"}', retain=True).is_failure


def test_an_oversize_message_is_refused_and_never_delivered(probes: Probes) -> None:
    listener = ingest(probes)
    assert not listener.subscribe(SHARED_READINGS).is_failure
    hostile = evil(probes)
    hostile.client.reconnect_delay_set(60, 60)  # one attempt: no re-send after the disconnect
    hostile.client.publish(readings_topic(EVIL), b"x" * (MAX_MESSAGE_BYTES + 1), qos=1)
    reason = hostile.wait_disconnected()
    assert reason.value == PROTOCOL_ERROR, reason  # Mosquitto 2.0 drops the connection, no PUBACK
    assert [key for key in hostile.replies if key >= 0] == []
    # The contract's largest message still passes (the limit is the contract's, not lower).
    assert evil(probes).publish(readings_topic(EVIL), b"x" * MAX_MESSAGE_BYTES).value == 0
    assert [len(m.payload) for m in listener.wait_messages(1)] == [MAX_MESSAGE_BYTES]


# ---- client ids ----------------------------------------------------------------------------
@pytest.mark.parametrize("client_id", [INGEST_CLIENT_ID, gateway_client_id(VICTIM), "anything-else"])
def test_a_gateway_may_not_connect_with_another_client_id(probes: Probes, client_id: str) -> None:
    """Issue 15: a gateway with ingest's client id kicked the worker off and took its session."""
    worker = ingest(probes)
    victim = probes.connect(VICTIM, PASSWORDS[VICTIM], gateway_client_id(VICTIM))
    assert victim.accepted
    assert probes.connect(EVIL, PASSWORDS[EVIL], client_id).connack.value == NOT_AUTHORIZED
    # Nobody was kicked: both sessions still answer.
    assert not worker.subscribe(SHARED_READINGS).is_failure
    assert not victim.subscribe(acks_topic(VICTIM)).is_failure
    assert (worker.disconnects, victim.disconnects) == ([], [])


def test_ingest_may_not_connect_as_a_gateway_either(probes: Probes) -> None:
    assert probes.connect(INGEST, INGEST_PASSWORD, gateway_client_id(VICTIM)).connack.value == NOT_AUTHORIZED


# ---- revocation ----------------------------------------------------------------------------
def test_a_revoked_gateway_is_disconnected_at_once_and_refused_after(broker: Broker, probes: Probes) -> None:
    gateway_id, password = "gw-revoked", SecretStr("revoked-0123456789abcdef")
    with broker.admin() as admin:
        admin.provision_gateway(gateway_id, password)
        connected = probes.connect(gateway_id, password.get_secret_value(), gateway_client_id(gateway_id))
        assert connected.accepted
        connected.client.reconnect_delay_set(60, 60)
        admin.revoke_gateway(gateway_id)
    connected.wait_disconnected()
    again = probes.connect(gateway_id, password.get_secret_value(), gateway_client_id(gateway_id))
    assert again.connack.value in (BAD_CREDENTIALS, NOT_AUTHORIZED)


# ---- all of it while readings flow ---------------------------------------------------------
def test_nothing_is_lost_while_a_hostile_gateway_tries_every_attack(
    broker: Broker, db_dsn: str, tmp_path: Path, probes: Probes
) -> None:
    """A real gateway streams 2,000 readings through a real ingest worker while gw-evil tries
    each attack; the database then holds exactly the victim's readings, once each."""
    worker = WorkerProcess(
        env={
            "INGEST_DATABASE_URL": db_dsn,
            "INGEST_MQTT_HOST": "127.0.0.1",
            "INGEST_MQTT_PORT": str(broker.port),
            "INGEST_MQTT_USERNAME": INGEST,
            "INGEST_MQTT_PASSWORD": INGEST_PASSWORD,
            "INGEST_MQTT_CLIENT_ID": INGEST_CLIENT_ID,
            "INGEST_MISSING_CHECK_INTERVAL_S": "0",
            "INGEST_MQTT_BACKOFF_MAX_S": "0.5",
        },
        log_path=tmp_path / "ingest.log",
    ).start()
    victim = GatewayProcess(
        VICTIM, tmp_path / VICTIM, broker.port,
        {"GATEWAY_MQTT_USERNAME": VICTIM, "GATEWAY_MQTT_PASSWORD": PASSWORDS[VICTIM]},
    )
    try:
        sent = prefill_outbox(victim.data_dir, 2000, address="A4:C1:38:00:3E:01")
        victim.start()
        wait_until(lambda: bool(victim.named("batch_acknowledged")), 30, "the victim's first hub ack")

        refusals = {
            "join the ingest group": evil(probes).subscribe(SHARED_READINGS).value,
            "read the victim's acks": evil(probes).subscribe(acks_topic(VICTIM)).value,
            "publish as the victim": evil(probes).publish(readings_topic(VICTIM), forged_batch(VICTIM)).value,
            "retain elsewhere": evil(probes).publish("homevitals/v1/gateways/gw-evil/x", b"x", retain=True).value,
            "take ingest's client id": probes.connect(EVIL, PASSWORDS[EVIL], INGEST_CLIENT_ID).connack.value,
            "take the victim's client id": probes.connect(
                EVIL, PASSWORDS[EVIL], gateway_client_id(VICTIM)
            ).connack.value,
        }
        assert refusals == dict.fromkeys(refusals, NOT_AUTHORIZED)
        oversize = evil(probes)
        oversize.client.reconnect_delay_set(60, 60)
        oversize.client.publish(readings_topic(EVIL), b"x" * (MAX_MESSAGE_BYTES + 1), qos=1)
        assert oversize.wait_disconnected().value == PROTOCOL_ERROR

        counts = settle(db_dsn, sent, [victim], timeout=90)
        assert_exact(counts, sent)
        assert victim.named("hub_acks_subscription_refused") == []
        print(f"\nhostile gateway: {len(refusals) + 1} attacks refused; {len(sent)} sent, {counts.rows} stored, "
              f"{counts.missing} lost, {counts.duplicated} duplicated")
    finally:
        victim.stop()
        worker.stop()
