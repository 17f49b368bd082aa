"""Gateway enrollment, redeem, revocation and device re-binding, through the API over HTTP.

The database is real; the broker's admin interface is a named fake (``FakeBrokerAdmin``,
recording what it was asked), so these tests pin the API's own rules. The same flow against a
real Mosquitto with the dynamic-security plugin and a real gateway process is in
tests/enrollment/.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from api_support import (
    FakeBrokerAdmin,
    audit_rows,
    bearer,
    insert_device,
    insert_reading,
    make_settings,
    token,
)

from api.app import create_app
from api.enrollment.codes import ALPHABET
from api.settings import ApiSettings
from gateway.settings import GatewaySettings
from tests.support.factories import insert_gateway

ADMIN = bearer(token("admin", "admin.it"))
REDEEM = "/api/v1/enrollment/redeem"


@pytest.fixture
async def http(settings: ApiSettings, broker: FakeBrokerAdmin) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"enroll_mqtt_host": "mqtt.hub.test", "enroll_mqtt_port": 8883,
                                                 "enroll_mqtt_tls": True}),
                     broker_admin=broker.session)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def enroll(http: httpx.AsyncClient, gateway_id: str = "gw-0042") -> dict:
    answer = await http.post(f"/api/v1/gateways/{gateway_id}/enrollment", headers=ADMIN,
                             json={"description": "Hansen, Vejle"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def one(dsn: str, query: str, *args: object) -> tuple:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, args).fetchone()
    assert row is not None
    return row


async def test_an_admin_enrolls_a_gateway_and_gets_a_code_and_a_config_file(http, broker, db_dsn):
    body = await enroll(http)

    code = body["code"]
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4]
    assert set("".join(groups)) <= set(ALPHABET)
    password = broker.passwords["gw-0042"]
    assert len(password) >= 40
    assert body["bundle"]["mqtt_password"] == password
    config = tomllib.loads(body["config_toml"])
    assert config == {
        "id": "gw-0042", "environment": "production", "mqtt_host": "mqtt.hub.test", "mqtt_port": 8883, "mqtt_tls": True,
        "mqtt_username": "gw-0042", "mqtt_client_id": "homevitals-gateway-gw-0042", "mqtt_password": password,
    }
    assert GatewaySettings(**config).gateway_id == "gw-0042"  # the gateway reads it as it is
    # Only a hash of the code is stored, and the sealed bundle does not contain the password.
    stored_hash, sealed, enrolled_by = one(
        db_dsn, "SELECT c.code_hash, c.sealed_bundle, g.enrolled_by FROM enrollment_codes c "
        "JOIN gateways g USING (gateway_id) WHERE gateway_id = 'gw-0042'"
    )
    canonical = code.replace("-", "")
    assert bytes(stored_hash) == hashlib.sha256(b"homevitals-enrollment-code|" + canonical.encode()).digest()
    assert password.encode() not in bytes(sealed) and canonical.encode() not in bytes(sealed)
    assert enrolled_by == "admin.it"
    rows = audit_rows(db_dsn, resource="gateways/gw-0042/enrollment")
    assert [(r["actor"], r["action"], r["outcome"]) for r in rows] == [("admin.it", "create", "ok")]
    assert password not in str(rows[0]["details"])


@pytest.mark.parametrize("role", ["caregiver", "clinician", "citizen"])
async def test_only_admins_enroll_and_revoke(http, broker, role):
    caller = bearer(token(role, "someone", team="team-nord", citizen=1))
    assert (await http.post("/api/v1/gateways/gw-0042/enrollment", headers=caller)).status_code == 403
    assert (await http.post("/api/v1/gateways/gw-0042/revoke", headers=caller)).status_code == 403
    assert broker.passwords == {} and broker.revoked == []


async def test_the_code_gives_the_bundle_once(http, broker, db_dsn):
    body = await enroll(http)
    typed = body["code"].lower().replace("-", " ").replace("0", "o")  # as an installer might type it

    first = await http.post(REDEEM, json={"code": typed})
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    assert first.json()["mqtt_password"] == broker.passwords["gw-0042"]
    assert first.json()["mqtt_client_id"] == "homevitals-gateway-gw-0042"

    second = await http.post(REDEEM, json={"code": body["code"]})
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    problem = second.json()
    assert problem["type"].endswith("/enrollment-code-used")
    assert "already used" in problem["detail"] and "192.0.2.10" in problem["detail"]
    assert "mqtt_password" not in second.text
    sealed, redeemed_from = one(db_dsn, "SELECT sealed_bundle, redeemed_from FROM enrollment_codes")
    assert sealed is None and redeemed_from == "192.0.2.10"
    outcomes = one(db_dsn, "SELECT array_agg(outcome ORDER BY id) FROM enrollment_attempts")[0]
    assert outcomes == ["redeemed", "used"]


async def test_wrong_codes_are_refused_then_rate_limited(http, db_dsn):
    await enroll(http)
    malformed = await http.post(REDEEM, json={"code": "not-a-code"})
    assert malformed.status_code == 422
    for _ in range(10):
        wrong = await http.post(REDEEM, json={"code": "0000-0000-0000"})
        assert wrong.status_code == 404
        assert wrong.json()["type"].endswith("/enrollment-code-unknown")
    limited = await http.post(REDEEM, json={"code": "0000-0000-0000"})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "60"
    assert one(db_dsn, "SELECT count(*) FROM enrollment_attempts WHERE outcome = 'unknown'")[0] == 10


async def test_an_expired_code_is_refused(http, db_dsn):
    body = await enroll(http)
    with psycopg.connect(db_dsn) as conn:
        conn.execute("UPDATE enrollment_codes SET expires_at = now() - interval '1 second'")
    answer = await http.post(REDEEM, json={"code": body["code"]})
    assert answer.status_code == 410
    assert answer.json()["type"].endswith("/enrollment-code-expired")


async def test_enrolling_an_enrolled_gateway_again_is_a_conflict(http, broker):
    await enroll(http)
    again = await http.post("/api/v1/gateways/gw-0042/enrollment", headers=ADMIN)
    assert again.status_code == 409
    assert "revoke it first" in again.json()["detail"]


async def test_revocation_removes_broker_access_and_kills_the_code(http, broker, db_dsn):
    body = await enroll(http)
    answer = await http.post("/api/v1/gateways/gw-0042/revoke", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["codes_cancelled"] == 1 and answer.json()["already_revoked"] is False
    assert broker.revoked == ["gw-0042"] and "gw-0042" not in broker.passwords

    dead = await http.post(REDEEM, json={"code": body["code"]})
    assert dead.status_code == 410
    assert dead.json()["type"].endswith("/enrollment-code-cancelled")
    gateway = await http.get("/api/v1/gateways/gw-0042", headers=ADMIN)
    assert gateway.json()["revoked_at"] is not None
    assert [r["actor"] for r in audit_rows(db_dsn, resource="gateways/gw-0042/revoke")] == ["admin.it"]

    again = await http.post("/api/v1/gateways/gw-0042/revoke", headers=ADMIN)
    assert again.json()["already_revoked"] is True
    assert broker.revoked == ["gw-0042", "gw-0042"]

    # A revoked gateway can be enrolled anew (new SD card): new password, new code.
    renewed = await enroll(http)
    assert renewed["code"] != body["code"]
    assert (await http.post(REDEEM, json={"code": renewed["code"]})).status_code == 200


async def test_a_broker_that_refuses_changes_nothing(http, broker, db_dsn):
    broker.down = True
    answer = await http.post("/api/v1/gateways/gw-0042/enrollment", headers=ADMIN)
    assert answer.status_code == 503
    assert answer.json()["type"].endswith("/broker-unavailable")
    assert "Connection refused" in answer.json()["detail"]
    assert one(db_dsn, "SELECT count(*) FROM gateways WHERE gateway_id = 'gw-0042'")[0] == 0


async def test_without_broker_administration_enrollment_says_what_to_set(api_dsn):
    app = create_app(make_settings(api_dsn))  # no broker administration
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answer = await client.post("/api/v1/gateways/gw-0042/enrollment", headers=ADMIN)
    assert answer.status_code == 503
    assert "API_BROKER_ADMIN_PASSWORD" in answer.json()["detail"]


async def test_an_admin_rebinds_a_device_and_releases_its_quarantined_readings(http, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        insert_gateway(conn, "gw-home-a")
        insert_gateway(conn, "gw-home-b")
        device = insert_device(conn, "A4:C1:38:00:00:09", "gw-home-a")
        conn.execute("UPDATE devices SET bound_gateway_id = 'gw-home-a' WHERE id = %s", (device,))
        reading = insert_reading(conn, device_id=device, measured_at=datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
        conn.execute(
            "UPDATE readings SET gateway_id = 'gw-home-b', quarantine_reason = 'device_bound_to_other_gateway'"
            " WHERE reading_id = %s", (reading,)
        )
    queue = (await http.get("/api/v1/unassigned-readings?quarantined=true", headers=ADMIN)).json()["items"]
    assert [(r["reading_id"], r["quarantine_reason"]) for r in queue] == [
        (str(reading), "device_bound_to_other_gateway")
    ]

    moved = await http.put(f"/api/v1/devices/{device}/gateway", headers=ADMIN,
                           json={"gateway_id": "gw-home-b", "release_quarantined": True})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"device_id": device, "previous_gateway_id": "gw-home-a",
                            "gateway_id": "gw-home-b", "released": 1}
    assert (await http.get("/api/v1/unassigned-readings?quarantined=true", headers=ADMIN)).json()["items"] == []
    released = (await http.get("/api/v1/unassigned-readings?quarantined=false", headers=ADMIN)).json()["items"]
    assert [r["reading_id"] for r in released] == [str(reading)]
    assert one(db_dsn, "SELECT bound_by FROM devices WHERE id = %s", device)[0] == "admin:admin.it"
    caregiver = bearer(token("caregiver", "nurse.nord", team="team-nord"))
    refused = await http.put(f"/api/v1/devices/{device}/gateway", headers=caregiver,
                             json={"gateway_id": "gw-home-a"})
    assert refused.status_code == 403
