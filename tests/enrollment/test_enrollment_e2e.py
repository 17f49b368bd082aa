"""Enrollment, revocation and quarantine end to end, with every part real.

A real Mosquitto with the dynamic-security plugin (the hub's accounts made by the same
bootstrap ``homevitals broker init`` runs), a real ``homevitals api run`` over HTTP that
administers it, a real ``homevitals ingest run`` logged in as ``hub_ingest_1``, real
TimescaleDB, and real ``homevitals gateway`` processes that get their credentials only by
``join`` (or the hub's bundle file). Counts come from the database and the gateways' outboxes.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from api.broker import DynsecAdmin
from api.broker.bootstrap import HubAccounts, bootstrap, ingest_username
from devstack.services.mosquitto import DYNSEC_ADMIN, LocalMosquitto
from devstack.services.ports import free_port
from devstack.services.postgres import LocalPostgres
from gateway.outbox import Outbox
from tests.api.api_support import api_env, api_server, bearer, token
from tests.chaos.chaos_support import GatewayProcess, outbox_depth
from tests.gateway.helpers import bp_reading
from tests.ingest.helpers import WorkerProcess
from tests.support.factories import insert_assignment, insert_citizen, insert_device
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

INGEST_PASSWORD = "ingest-" + uuid.uuid4().hex
INGEST_CLIENT_ID = "homevitals-ingest-e2e"
API_LOGIN = "homevitals_enrollment_tests"
MONITOR = "A4:C1:38:00:E1:01"
REPO = Path(__file__).resolve().parents[2]
HOMEVITALS = str(REPO / ".venv/bin/homevitals")
ADMIN = bearer(token("admin", "admin.it"))


@dataclass
class Hub:
    broker: LocalMosquitto
    api: str
    dsn: str
    env: dict[str, str]  # API_* of the API process: the hub CLI runs with the same
    ingest: WorkerProcess
    tmp: Path

    def enroll(self, gateway_id: str) -> str:
        answer = httpx.post(f"{self.api}/api/v1/gateways/{gateway_id}/enrollment", headers=ADMIN,
                            json={"description": "e2e"}, timeout=30)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["code"])

    def hub_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([HOMEVITALS, "gateway", *args], env=self.env, capture_output=True, text=True,
                              timeout=60, check=False)

    def join(self, code: str, config: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([HOMEVITALS, "gateway", "join", "--hub", self.api, "--config", str(config), code],
                              env=_gateway_env(), capture_output=True, text=True, timeout=60, check=False)

    def rows(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(query, args).fetchall()


def _gateway_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "API_"))}


@pytest.fixture
def hub(tmp_path: Path, db_dsn: str, postgres_server: LocalPostgres) -> Iterator[Hub]:
    with LocalMosquitto(dynsec=True) as broker:
        admin_password = SecretStr(broker.admin_password)
        with DynsecAdmin(host="127.0.0.1", port=broker.port, username=DYNSEC_ADMIN,
                         password=admin_password) as admin:
            bootstrap(admin, HubAccounts(ingest_password=SecretStr(INGEST_PASSWORD),
                                         ingest_client_ids=(INGEST_CLIENT_ID,)), progress=lambda _line: None)
        postgres_server.execute(
            "postgres",
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{API_LOGIN}') THEN "
            f"CREATE ROLE {API_LOGIN} LOGIN IN ROLE homevitals_api; END IF; END $$",
        )
        api_dsn = postgres_server.dsn_for(db_dsn.rsplit("/", 1)[1], user=API_LOGIN)
        env = api_env(api_dsn, free_port())
        env.update(
            API_BROKER_HOST="127.0.0.1", API_BROKER_PORT=str(broker.port),
            API_BROKER_ADMIN_PASSWORD=broker.admin_password,
            API_ENROLL_MQTT_HOST="127.0.0.1", API_ENROLL_MQTT_PORT=str(broker.port),
            API_ENVIRONMENT="development",
        )
        ingest = WorkerProcess(env={
            "INGEST_DATABASE_URL": db_dsn, "INGEST_MQTT_HOST": "127.0.0.1", "INGEST_MQTT_PORT": str(broker.port),
            "INGEST_MQTT_USERNAME": ingest_username(1), "INGEST_MQTT_PASSWORD": INGEST_PASSWORD,
            "INGEST_MQTT_CLIENT_ID": INGEST_CLIENT_ID, "INGEST_MQTT_SHARE_GROUP": "ingest",
            "INGEST_MISSING_CHECK_INTERVAL_S": "0", "INGEST_MQTT_BACKOFF_MAX_S": "0.5",
        }, log_path=tmp_path / "ingest.log").start()
        try:
            with api_server(REPO, env, tmp_path / "api.log") as server:
                wait_until(lambda: _ready(server.base_url), 30, "the API to answer")
                yield Hub(broker, server.base_url, db_dsn, env, ingest, tmp_path)
        finally:
            if ingest.proc is not None and ingest.proc.poll() is None:
                os.kill(ingest.proc.pid, signal.SIGCONT)
            ingest.stop()


def _ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[list[GatewayProcess]]:
    made: list[GatewayProcess] = []
    yield made
    for gateway in made:
        gateway.stop()


def citizen_owning_monitor(hub: Hub) -> int:
    """A citizen whose monitor (slot 1) is assigned; the monitor is bound to no gateway yet."""
    with psycopg.connect(hub.dsn, autocommit=True) as conn:
        citizen = insert_citizen(conn)
        insert_assignment(conn, insert_device(conn, MONITOR), citizen, start=datetime(2020, 1, 1, tzinfo=UTC))
    return citizen


def prefill(data_dir: Path, count: int, *, systolic: float, offset: int = 0) -> set[str]:
    """``count`` readings of the monitor in the gateway's outbox, as its BLE session writes them."""
    data_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ids = set()
    with Outbox.open(data_dir / "outbox.sqlite3", limit=10**6) as outbox:
        for i in range(count):
            built = bp_reading(systolic, minutes_ago=offset + i + 1, address=MONITOR, now=now, diastolic=78)
            outbox.add(built)
            ids.add(built.reading_id)
    assert len(ids) == count
    return ids


def start_gateway(gateways: list[GatewayProcess], hub: Hub, gateway_id: str, config: Path,
                  **env: str) -> GatewayProcess:
    gateway = GatewayProcess(gateway_id, hub.tmp / gateway_id, hub.broker.port,
                             {"GATEWAY_LOG_LEVEL": "DEBUG", **env}, config_file=config)
    gateways.append(gateway.start())
    return gateway


def stored_ids(hub: Hub, gateway_id: str) -> set[str]:
    return {str(r[0]) for r in hub.rows("SELECT reading_id FROM readings WHERE gateway_id = %s", gateway_id)}


def connack(hub: Hub, config: Path) -> Any:
    """What the broker answers a client logging in with this config's credentials."""
    import tomllib

    settings = tomllib.loads(config.read_text())
    answered = threading.Event()
    result: list[Any] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=settings["mqtt_client_id"], protocol=mqtt.MQTTv5)
    client.username_pw_set(settings["mqtt_username"], settings["mqtt_password"])

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        result.append(reason)
        answered.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", hub.broker.port)
    client.loop_start()
    try:
        assert answered.wait(10), "no CONNACK"
    finally:
        client.loop_stop()
        client.disconnect()
    return result[0]


def test_enroll_join_run_then_revoke_with_readings_in_flight(hub: Hub, gateways: list[GatewayProcess]):
    citizen = citizen_owning_monitor(hub)
    code = hub.enroll("gw-e2e-home")
    config = hub.tmp / "gw-e2e-home-etc" / "gateway.toml"

    joined = hub.join(code, config)
    assert joined.returncode == 0, joined.stderr
    assert json.loads(joined.stdout)["joined"] == "gw-e2e-home"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    again = hub.join(code, hub.tmp / "second.toml")
    assert again.returncode == 1
    assert "409" in again.stderr and "already used" in again.stderr
    assert not (hub.tmp / "second.toml").exists()

    # Pairing puts the monitor on the allow-list; the readings it gave are in the outbox.
    data_dir = hub.tmp / "gw-e2e-home"
    first = prefill(data_dir, 20, systolic=125)
    added = subprocess.run([sys.executable, "-m", "gateway.cli", "devices", "--config", str(config), "add", MONITOR],
                           env={**_gateway_env(), "GATEWAY_DATA_DIR": str(data_dir)}, capture_output=True,
                           text=True, timeout=60, check=False)
    assert added.returncode == 0, added.stderr
    gateway = start_gateway(gateways, hub, "gw-e2e-home", config)
    wait_until(lambda: stored_ids(hub, "gw-e2e-home") == first and gateway.depth == 0, 60,
               "the joined gateway's readings to be stored and acknowledged")
    assert hub.rows("SELECT count(*), count(citizen_id) FROM readings WHERE gateway_id = 'gw-e2e-home'") == [
        (20, 20)]
    assert hub.rows("SELECT DISTINCT citizen_id FROM readings") == [(citizen,)]
    assert hub.rows("SELECT bound_gateway_id FROM devices WHERE address = %s", MONITOR) == [("gw-e2e-home",)]
    alerts_before = hub.rows("SELECT count(*) FROM alerts WHERE citizen_id = %s", citizen)

    # In flight: the gateway sends 20 more while ingest is stopped; the broker holds them.
    gateway.stop()
    assert hub.ingest.proc is not None
    os.kill(hub.ingest.proc.pid, signal.SIGSTOP)
    second = prefill(data_dir, 20, systolic=210, offset=100)
    gateway = start_gateway(gateways, hub, "gw-e2e-home", config, GATEWAY_HUB_ACK_WINDOW="2")
    wait_until(lambda: len(gateway.named("batch_awaiting_hub_ack")) >= 2, 30, "two batches PUBACKed")
    in_flight = {e["batch_seq"] for _, e in gateway.named("batch_awaiting_hub_ack")}

    revoked = httpx.post(f"{hub.api}/api/v1/gateways/gw-e2e-home/revoke", headers=ADMIN, timeout=30)
    assert revoked.status_code == 200, revoked.text
    wait_until(lambda: bool(gateway.named("mqtt_disconnected")), 10, "the broker to drop the revoked gateway")
    assert connack(hub, config).is_failure  # and it may not come back
    wait_until(lambda: bool(gateway.named("mqtt_connect_refused")), 30, "the gateway's reconnect to be refused")
    os.kill(hub.ingest.proc.pid, signal.SIGCONT)

    published = {e["batch_seq"]: e["readings"] for _, e in gateway.named("batch_published")}
    expected = sum(published[seq] for seq in in_flight)
    wait_until(lambda: len(stored_ids(hub, "gw-e2e-home")) == 20 + expected, 30,
               f"the {expected} in-flight readings to be stored")
    assert hub.rows(
        "SELECT quarantine_reason, count(*), count(citizen_id) FROM readings WHERE reading_id = ANY(%s) "
        "GROUP BY 1", [uuid.UUID(i) for i in second]
    ) == [("gateway_revoked", expected, 0)]
    # 210 mmHg would open an alert for her; quarantined readings open none.
    assert hub.rows("SELECT count(*) FROM alerts WHERE citizen_id = %s", citizen) == alerts_before
    # Nothing is lost: what the hub did not acknowledge is still on the gateway.
    assert outbox_depth(data_dir) == 20
    assert stored_ids(hub, "gw-e2e-home") <= first | second


def test_a_revoked_gateways_unused_code_is_dead_and_the_hub_cli_does_the_same(hub: Hub):
    code = hub.enroll("gw-e2e-unused")
    revoked = hub.hub_cli("revoke", "gw-e2e-unused")
    assert revoked.returncode == 0, revoked.stderr
    assert "1 unused code(s) cancelled" in revoked.stdout
    joined = hub.join(code, hub.tmp / "unused.toml")
    assert joined.returncode == 1 and "410" in joined.stderr and "cancelled" in joined.stderr
    actors = hub.rows("SELECT actor, resource FROM audit_log WHERE resource LIKE %s ORDER BY id",
                      "gateways/gw-e2e-unused/%")
    assert actors[0] == ("admin.it", "gateways/gw-e2e-unused/enrollment")
    assert actors[1][0].startswith("cli:") and actors[1][1] == "gateways/gw-e2e-unused/revoke"


def test_a_hostile_gateway_speaking_for_another_households_monitor_is_quarantined(
    hub: Hub, gateways: list[GatewayProcess]
):
    citizen = citizen_owning_monitor(hub)
    home_config = hub.tmp / "home-etc" / "gateway.toml"
    assert hub.join(hub.enroll("gw-e2e-home-a"), home_config).returncode == 0
    # The hostile gateway is enrolled too (the hub CLI, with the bundle file): a legitimate
    # account, used to publish on its own topic for a monitor that is not its own.
    hostile_config = hub.tmp / "hostile-etc" / "gateway.toml"
    enrolled = hub.hub_cli("enroll", "gw-e2e-hostile", "--bundle", str(hostile_config))
    assert enrolled.returncode == 0, enrolled.stderr
    assert stat.S_IMODE(hostile_config.stat().st_mode) == 0o600

    home = prefill(hub.tmp / "gw-e2e-home-a", 12, systolic=124)
    start_gateway(gateways, hub, "gw-e2e-home-a", home_config)
    wait_until(lambda: stored_ids(hub, "gw-e2e-home-a") == home, 60, "the household's readings")
    alerts_before = hub.rows("SELECT count(*) FROM alerts WHERE citizen_id = %s", citizen)

    hostile = prefill(hub.tmp / "gw-e2e-hostile", 30, systolic=230, offset=500)
    intruder = start_gateway(gateways, hub, "gw-e2e-hostile", hostile_config)
    wait_until(lambda: stored_ids(hub, "gw-e2e-hostile") == hostile and intruder.depth == 0, 60,
               "the hostile readings to be stored (and acknowledged)")

    assert hub.rows(
        "SELECT gateway_id, quarantine_reason, count(*), count(citizen_id) FROM readings GROUP BY 1, 2 ORDER BY 1"
    ) == [("gw-e2e-home-a", None, 12, 12), ("gw-e2e-hostile", "device_bound_to_other_gateway", 30, 0)]
    # 230 mmHg would open an alert for her; the quarantined readings open none.
    assert hub.rows("SELECT count(*) FROM alerts WHERE citizen_id = %s", citizen) == alerts_before
    assert hub.rows("SELECT bound_gateway_id, last_gateway_id FROM devices WHERE address = %s", MONITOR) == [
        ("gw-e2e-home-a", "gw-e2e-home-a")]
    queue = httpx.get(f"{hub.api}/api/v1/unassigned-readings", params={"quarantined": "true", "limit": 100},
                      headers=bearer(token("caregiver", "nurse.nord", team="nord")), timeout=30).json()["items"]
    assert sorted(r["reading_id"] for r in queue) == sorted(hostile)
    assert {(r["quarantine_reason"], r["gateway_id"]) for r in queue} == {
        ("device_bound_to_other_gateway", "gw-e2e-hostile")}
    fleet = hub.rows("SELECT gateway_id, quarantined_readings FROM grafana.gateway_overview "
                     "WHERE gateway_id LIKE %s ORDER BY 1", "gw-e2e-%")
    assert fleet == [("gw-e2e-home-a", 0), ("gw-e2e-hostile", 30)]
