"""*Gateways og enheder*: an admin enrols and revokes a gateway in the web app, with every part
real: Mosquitto with the dynamic-security plugin (the hub's accounts made by the same bootstrap
``homevitals broker init`` runs), the real ``homevitals api run`` with the web app administering
it, real TimescaleDB, and ``homevitals gateway join`` redeeming the code the page showed.
The broker is the judge: the joined gateway's credentials are accepted, and refused after the
revoke. A caregiver sees no form, and a forged post is refused and audited as denied.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from api_support import api_env, api_server
from pydantic import SecretStr
from web_http import csrf_of, dev_login
from web_support import dev_users, seed_day

from api.broker import DynsecAdmin
from api.broker.bootstrap import HubAccounts, bootstrap
from devstack.services.mosquitto import DYNSEC_ADMIN, LocalMosquitto
from devstack.services.ports import free_port
from tests.deploy.mqtt_probe import Probe
from tests.support.database import create_database, drop_database, unique_database_name

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
HOMEVITALS = str(REPO / ".venv/bin/homevitals")
GATEWAY = "gw-web-enrol-1"


@pytest.fixture(scope="module")
def hub(postgres_server, web_login, tmp_path_factory) -> Iterator[tuple[str, str, LocalMosquitto]]:
    """(web base URL, superuser DSN, broker) of a hub whose API administers a real broker."""
    name = unique_database_name("webenrol")
    dsn = create_database(postgres_server, name)
    seeded = seed_day(dsn)
    tmp = tmp_path_factory.mktemp("webenrol")
    try:
        with LocalMosquitto(dynsec=True) as broker:
            with DynsecAdmin(host="127.0.0.1", port=broker.port, username=DYNSEC_ADMIN,
                             password=SecretStr(broker.admin_password)) as admin:
                bootstrap(admin, HubAccounts(ingest_password=SecretStr("ingest-" + uuid.uuid4().hex),
                                             ingest_client_ids=("homevitals-ingest-web",)),
                          progress=lambda _line: None)
            env = api_env(postgres_server.dsn_for(name, user=web_login), free_port())
            env.update(
                API_WEB_DEV_LOGIN="true", API_WEB_DEV_USERS=dev_users(seeded), API_ORGANISATION="Testkommune",
                API_BROKER_HOST="127.0.0.1", API_BROKER_PORT=str(broker.port),
                API_BROKER_ADMIN_PASSWORD=broker.admin_password,
                API_ENROLL_MQTT_HOST="127.0.0.1", API_ENROLL_MQTT_PORT=str(broker.port),
                API_ENVIRONMENT="development",
            )
            with api_server(REPO, env, tmp / "api.log") as server:
                yield server.base_url, dsn, broker
    finally:
        drop_database(postgres_server, name)


@contextmanager
def logged_in(base_url: str, sub: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30, follow_redirects=True) as client:
        assert dev_login(client, sub).status_code == 200
        yield client


def audit_rows(dsn: str, resource: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT actor, action, outcome FROM audit_log WHERE resource = %s ORDER BY id", (resource,)
        ).fetchall()
    return [tuple(r) for r in rows]


def join(base_url: str, code: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "API_"))}
    return subprocess.run([HOMEVITALS, "gateway", "join", "--hub", base_url, "--config", str(config), code],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_an_admin_enrols_a_gateway_that_then_connects_and_revokes_it_so_the_broker_refuses_it(hub, tmp_path):
    base_url, dsn, broker = hub
    with logged_in(base_url, "admin.it") as admin:
        page = admin.get("/app/enheder")
        assert page.status_code == 200 and 'action="/app/enheder/tilmeld"' in page.text
        enrolled = admin.post("/app/enheder/tilmeld", data={
            "gateway_id": GATEWAY, "description": "Hjem 1", "csrf_token": csrf_of(page.text)})
        assert enrolled.status_code == 201, enrolled.text
        code = re.search(r'data-code="([^"]+)"', enrolled.text)
        assert code, enrolled.text
        assert "homevitals gateway join --hub" in enrolled.text
        # Shown once: the list says "pending" with the expiry, never the code again.
        listing = admin.get("/app/enheder")
        assert code.group(1) not in listing.text and GATEWAY in listing.text
        assert audit_rows(dsn, f"gateways/{GATEWAY}/enrollment")[-1] == ("admin.it", "create", "ok")

        config = tmp_path / "gateway.toml"
        joined = join(base_url, code.group(1), config)
        assert joined.returncode == 0, joined.stderr
        settings = tomllib.loads(config.read_text())
        accepted = Probe(broker.port, settings["mqtt_username"], settings["mqtt_password"], settings["mqtt_client_id"])
        try:
            assert not accepted.connack.is_failure, accepted.connack
        finally:
            accepted.close()

        confirm = admin.get(f"/app/enheder/{GATEWAY}/tilbagekald")
        assert confirm.status_code == 200
        unconfirmed = admin.post(f"/app/enheder/{GATEWAY}/tilbagekald", data={
            "reason": "Flyttet", "confirm": "wrong-id", "csrf_token": csrf_of(confirm.text)})
        assert unconfirmed.status_code == 422
        revoked = admin.post(f"/app/enheder/{GATEWAY}/tilbagekald", data={
            "reason": "Borgeren er flyttet", "confirm": GATEWAY, "csrf_token": csrf_of(confirm.text)})
        assert revoked.status_code == 200 and str(revoked.url).endswith(f"done=revoked-{GATEWAY}")
        assert audit_rows(dsn, f"gateways/{GATEWAY}/revoke")[-1][2] == "ok"

    refused = Probe(broker.port, settings["mqtt_username"], settings["mqtt_password"], settings["mqtt_client_id"])
    try:
        assert refused.connack.is_failure, "the broker still accepts a revoked gateway"
    finally:
        refused.close()
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT revoked_by FROM gateways WHERE gateway_id = %s", (GATEWAY,)).fetchone()
    assert row == ("admin.it",)


def test_a_caregiver_sees_no_enrolment_form_and_a_forged_post_is_refused_and_audited(hub):
    base_url, dsn, _broker = hub
    with logged_in(base_url, "nurse.nord") as nurse:
        page = nurse.get("/app/enheder")
        assert page.status_code == 200
        assert "/app/enheder/tilmeld" not in page.text and "tilbagekald" not in page.text
        token = csrf_of(nurse.get("/app/i-dag").text)
        forged = nurse.post("/app/enheder/tilmeld", data={"gateway_id": "gw-forged-1", "csrf_token": token})
        assert forged.status_code == 403
        assert audit_rows(dsn, "gateways/gw-forged-1/enrollment") == [("nurse.nord", "create", "denied")]
        revoke = nurse.post("/app/enheder/gw-0001/tilbagekald",
                            data={"reason": "x", "confirm": "gw-0001", "csrf_token": token})
        assert revoke.status_code == 403
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM gateways WHERE gateway_id = 'gw-forged-1'").fetchone() == (0,)
        assert conn.execute("SELECT revoked_at FROM gateways WHERE gateway_id = 'gw-0001'").fetchone() == (None,)


def test_an_enrolment_without_its_csrf_token_is_refused(hub):
    base_url, dsn, _ = hub
    with logged_in(base_url, "admin.it") as admin:
        refused = admin.post("/app/enheder/tilmeld", data={"gateway_id": "gw-nocsrf-1"})
        assert refused.status_code == 403
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM gateways WHERE gateway_id = 'gw-nocsrf-1'").fetchone() == (0,)
