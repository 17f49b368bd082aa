"""Endpoint behaviour: pagination, local-day buckets, assignments, unassigned readings, thresholds,
alerts, citizens and the problem documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from api_support import bearer, insert_reading, principals

from api.routers.readings import BucketedReadings, ReadingsPage
from tests.support.factories import insert_assignment

CPH = ZoneInfo("Europe/Copenhagen")


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CPH).astimezone(UTC)


async def test_readings_pages_with_a_cursor_and_filters(client, seeded, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        insert_reading(
            conn,
            device_id=seeded.device_anna,
            citizen_id=seeded.anna,
            kind="weight",
            value=70.1,
            measured_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        )
    headers = bearer(principals(seeded)["caregiver"])
    path = f"/api/v1/citizens/{seeded.anna}/readings"
    seen, cursor = [], None
    while True:
        page = (
            await client.get(
                path, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=headers
            )
        ).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    times = [datetime.fromisoformat(r["measured_at"]) for r in seen]
    assert len(set(times)) == 5 and times == sorted(times, reverse=True)  # newest first, nothing twice
    ReadingsPage.model_validate(page)  # the JSON PostgreSQL renders has the documented shape
    only_bp = (await client.get(path, params={"kind": "blood_pressure"}, headers=headers)).json()["items"]
    assert {r["reading_id"] for r in only_bp} == {str(r) for r in seeded.anna_readings}
    window = (
        await client.get(
            path, params={"from": "2026-03-02T19:00:00Z", "to": "2026-03-03T07:00:00Z"}, headers=headers
        )
    ).json()["items"]
    # from is inclusive, to exclusive
    assert [datetime.fromisoformat(r["measured_at"]) for r in window] == [
        datetime(2026, 3, 2, 19, tzinfo=UTC)
    ]
    assert window[0]["systolic"] == 131 and window[0]["status"]["body_movement"] is False
    naive = await client.get(path, params={"from": "2026-03-02T12:00:00"}, headers=headers)
    assert naive.status_code == 422  # a time without an offset is ambiguous
    bad = await client.get(path, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=headers)
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]


async def test_daily_buckets_are_local_days_across_the_dst_change(client, seeded, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:

        def add(when: datetime, systolic: float, **extra: object) -> None:
            insert_reading(
                conn,
                device_id=seeded.device_anna,
                citizen_id=seeded.bo,
                measured_at=when,
                systolic=systolic,
                diastolic=80,
                **extra,
            )  # type: ignore[arg-type]

        add(local(2026, 3, 28, 23, 30), 120)  # 22:30 UTC on the 28th
        add(local(2026, 3, 29, 0, 30), 130)  # 23:30 UTC on the 28th, but the 29th in Copenhagen
        add(local(2026, 3, 29, 21, 0), 150)  # the 29th has 23 hours (summer time begins)
        add(local(2026, 3, 29, 22, 0), 400, implausible=True)  # left out of aggregates
    response = await client.get(
        f"/api/v1/citizens/{seeded.bo}/readings",
        params={"bucket": "1d", "from": "2026-03-28T00:00:00+01:00"},
        headers=bearer(principals(seeded)["clinician"]),
    )
    body = response.json()
    BucketedReadings.model_validate(body)  # built without the model: check it has the documented shape
    assert body["bucket"] == "1d" and body["timezone"] == "Europe/Copenhagen"
    buckets = [(b["bucket_start"], b["count"], b["metrics"]["systolic"]) for b in body["items"]]
    assert buckets == [
        ("2026-03-29T00:00:00+01:00", 2, {"min": 130.0, "max": 150.0, "mean": 140.0, "count": 2}),
        ("2026-03-28T00:00:00+01:00", 1, {"min": 120.0, "max": 120.0, "mean": 120.0, "count": 1}),
    ]
    weekly = (
        await client.get(
            f"/api/v1/citizens/{seeded.bo}/readings",
            params={"bucket": "1w"},
            headers=bearer(principals(seeded)["clinician"]),
        )
    ).json()
    assert [(b["bucket_start"], b["count"]) for b in weekly["items"]] == [("2026-03-23T00:00:00+01:00", 3)]


async def test_assignment_overlap_is_409_naming_the_conflict(client, seeded):
    admin = bearer(principals(seeded)["admin"])
    clash = await client.post(
        "/api/v1/assignments",
        headers=admin,
        json={"device_id": seeded.device_anna, "citizen_id": seeded.bo, "valid_from": "2026-06-01T00:00:00Z"},
    )
    assert clash.status_code == 409
    problem = clash.json()
    assert problem["constraint"] == "device_assignments_no_overlap"
    assert problem["conflicting_assignments"] == [seeded.assignment_anna]
    assert f"assignment {seeded.assignment_anna} from 2026-01-01" in problem["detail"]
    other_slot = await client.post(
        "/api/v1/assignments",
        headers=admin,
        json={"device_id": seeded.device_anna, "user_slot": 2, "citizen_id": seeded.bo},
    )
    assert other_slot.status_code == 201
    assert other_slot.headers["location"] == f"/api/v1/assignments/{other_slot.json()['id']}"
    assert other_slot.json()["active"] is True and other_slot.json()["created_by"] == "admin.it"
    missing = await client.post(
        "/api/v1/assignments", headers=admin, json={"device_id": 999, "citizen_id": 1}
    )
    assert missing.status_code == 404


async def test_ending_an_assignment_hands_later_readings_back(client, seeded, db_dsn):
    caregiver = bearer(principals(seeded)["caregiver"])
    response = await client.post(
        f"/api/v1/assignments/{seeded.assignment_anna}/end",
        headers=caregiver,
        json={"ended_at": "2026-03-03T00:00:00Z"},
    )
    assert response.status_code == 200, response.text
    ended = response.json()
    assert ended["valid_to"] == "2026-03-03T00:00:00Z" and ended["ended_by"] == "nurse.nord"
    assert ended["readings_unassigned"] == 2 and ended["active"] is False
    again = await client.post(f"/api/v1/assignments/{seeded.assignment_anna}/end", headers=caregiver, json={})
    assert again.status_code == 409
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute(
            "SELECT count(*) FROM readings WHERE citizen_id = %s", (seeded.anna,)
        ).fetchone() == (2,)


async def test_unassigned_readings_are_listed_and_assigned_in_one_call(client, seeded, db_dsn):
    caregiver = bearer(principals(seeded)["caregiver"])
    listed = (await client.get("/api/v1/unassigned-readings", headers=caregiver)).json()["items"]
    assert {r["reading_id"] for r in listed} == {str(r) for r in seeded.unassigned_readings}
    assert {r["device_address"] for r in listed} == {"A4:C1:38:00:00:03"}
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        # A device without user ids (user_slot NULL) counts as slot 1; a reading before the period stays.
        insert_reading(
            conn,
            device_id=seeded.device_spare,
            user_slot=None,
            measured_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        )
        insert_reading(conn, device_id=seeded.device_spare, measured_at=datetime(2025, 12, 1, tzinfo=UTC))
        assignment = insert_assignment(conn, seeded.device_spare, seeded.bo)
    response = await client.post(
        "/api/v1/unassigned-readings/assign", headers=caregiver, json={"assignment_id": assignment}
    )
    assert response.json() == {"assignment_id": assignment, "citizen_id": seeded.bo, "assigned": 3}
    remaining = (await client.get("/api/v1/unassigned-readings", headers=caregiver)).json()["items"]
    assert [r["measured_at"] for r in remaining] == ["2025-12-01T00:00:00Z"]
    bo = (await client.get(f"/api/v1/citizens/{seeded.bo}/readings", headers=caregiver)).json()["items"]
    assert len(bo) == 3
    again = await client.post(
        "/api/v1/unassigned-readings/assign", headers=caregiver, json={"assignment_id": assignment}
    )
    assert again.json()["assigned"] == 0


async def test_thresholds_put_replaces_the_personal_set(client, seeded):
    caregiver = bearer(principals(seeded)["caregiver"])
    path = f"/api/v1/citizens/{seeded.anna}/thresholds"
    body = {
        "thresholds": [
            {"metric": "systolic", "alert_low": 90, "warn_low": 100, "warn_high": 145, "alert_high": 170},
            {"metric": "pulse_rate", "alert_low": 35, "warn_low": 45, "warn_high": 110, "alert_high": 130},
        ]
    }
    put = (await client.put(path, json=body, headers=caregiver)).json()
    by_metric = {t["metric"]: t for t in put["thresholds"]}
    assert by_metric["systolic"]["warn_high"] == 145 and by_metric["systolic"]["personal"] is True
    assert by_metric["systolic"]["updated_by"] == "nurse.nord"
    assert by_metric["diastolic"]["personal"] is False and by_metric["diastolic"]["warn_high"] == 85
    body["thresholds"] = body["thresholds"][:1]
    again = (await client.put(path, json=body, headers=caregiver)).json()
    assert {t["metric"] for t in again["thresholds"] if t["personal"]} == {"systolic"}
    assert (await client.get(path, headers=caregiver)).json() == again

    unordered = await client.put(
        path,
        headers=caregiver,
        json={
            "thresholds": [
                {"metric": "systolic", "alert_low": 100, "warn_low": 90, "warn_high": 145, "alert_high": 170}
            ]
        },
    )
    assert unordered.status_code == 422
    assert unordered.json()["errors"][0]["location"] == "body.thresholds.0"
    unknown = await client.put(
        path,
        headers=caregiver,
        json={
            "thresholds": [
                {"metric": "cholesterol", "alert_low": 1, "warn_low": 2, "warn_high": 3, "alert_high": 4}
            ]
        },
    )
    assert unknown.status_code == 422 and "cholesterol" in unknown.json()["detail"]


async def test_alerts_are_acknowledged_then_resolved_with_who_and_when(client, seeded):
    caregiver = bearer(principals(seeded)["caregiver"])
    path = f"/api/v1/alerts/{seeded.alert_anna}"
    acked = (await client.post(path + "/acknowledge", json={"note": "called Anna"}, headers=caregiver)).json()
    assert (acked["state"], acked["acknowledged_by"], acked["note"]) == (
        "acknowledged",
        "nurse.nord",
        "called Anna",
    )
    assert acked["acknowledged_at"] is not None and acked["resolved_at"] is None
    twice = await client.post(path + "/acknowledge", headers=caregiver)
    assert twice.status_code == 409 and "already acknowledged by nurse.nord" in twice.json()["detail"]
    resolved = (await client.post(path + "/resolve", headers=caregiver)).json()
    assert (resolved["state"], resolved["resolved_by"], resolved["note"]) == (
        "resolved",
        "nurse.nord",
        "called Anna",
    )
    assert (await client.post(path + "/resolve", headers=caregiver)).status_code == 409
    open_only = (
        await client.get(
            "/api/v1/alerts", params={"state": "open"}, headers=bearer(principals(seeded)["clinician"])
        )
    ).json()["items"]
    assert [a["id"] for a in open_only] == [seeded.alert_carl]


async def test_citizen_crud(client, seeded):
    admin = bearer(principals(seeded)["admin"])
    created = await client.post(
        "/api/v1/citizens",
        headers=admin,
        json={
            "cpr": "050560-1234",
            "given_name": "Dorte",
            "family_name": "Dahl",
            "care_team": "team-vest",
            "birth_date": "1960-05-05",
            "timezone": "America/Nuuk",
        },
    )
    assert created.status_code == 201, created.text
    citizen = created.json()
    assert citizen["cpr"] == "0505601234" and citizen["timezone"] == "America/Nuuk"
    assert created.headers["location"] == f"/api/v1/citizens/{citizen['id']}"
    duplicate = await client.post(
        "/api/v1/citizens",
        headers=admin,
        json={"cpr": "0505601234", "given_name": "X", "family_name": "Y", "care_team": "t"},
    )
    assert duplicate.status_code == 409 and "CPR" in duplicate.json()["detail"]
    bad_zone = await client.post(
        "/api/v1/citizens",
        headers=admin,
        json={"given_name": "X", "family_name": "Y", "care_team": "t", "timezone": "Mars/Olympus"},
    )
    assert bad_zone.status_code == 422
    patched = await client.patch(f"/api/v1/citizens/{citizen['id']}", headers=admin, json={"cpr": None})
    assert patched.json()["cpr"] is None and patched.json()["given_name"] == "Dorte"
    assert (
        await client.patch(f"/api/v1/citizens/{citizen['id']}", headers=admin, json={"given_name": None})
    ).status_code == 422
    assert (await client.delete(f"/api/v1/citizens/{citizen['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/citizens/{citizen['id']}", headers=admin)).status_code == 404
    kept = await client.delete(f"/api/v1/citizens/{seeded.anna}", headers=admin)
    assert kept.status_code == 409 and "active=false" in kept.json()["detail"]


async def test_devices_show_status_last_contact_and_battery(client, seeded, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE devices SET last_seen = now() - interval '5 days' WHERE id = %s", (seeded.device_carl,)
        )
    admin = bearer(principals(seeded)["admin"])
    devices = {d["id"]: d for d in (await client.get("/api/v1/devices", headers=admin)).json()["items"]}
    anna = devices[seeded.device_anna]
    assert (anna["status"], anna["battery_level"], anna["gateway_state"]) == ("active", 80, "online")
    assert [a["citizen_id"] for a in anna["assignments"]] == [seeded.anna]
    assert devices[seeded.device_carl]["status"] == "silent"
    assert devices[seeded.device_spare]["assignments"] == []
    gateways = {
        g["gateway_id"]: g for g in (await client.get("/api/v1/gateways", headers=admin)).json()["items"]
    }
    assert gateways["gw-0001"]["state"] == "online" and gateways["gw-0002"]["last_seen"] is not None
    created = await client.post("/api/v1/devices", headers=admin, json={"address": "a4:c1:38:99:99:99"})
    assert created.status_code == 201 and created.json()["address"] == "A4:C1:38:99:99:99"
    assert (
        await client.post("/api/v1/devices", headers=admin, json={"address": "A4:C1:38:99:99:99"})
    ).status_code == 409


@pytest.mark.parametrize(
    ("method", "path", "status", "slug"),
    [
        ("GET", "/api/v1/citizens?limit=0", 422, "validation-error"),
        ("GET", "/api/v1/citizens/abc", 422, "validation-error"),
        ("GET", "/api/v1/nowhere", 404, "not-found"),
        ("DELETE", "/api/v1/alerts", 405, "method-not-allowed"),
        ("GET", "/api/v1/citizens/424242", 404, "not-found"),
    ],
)
async def test_errors_are_problem_documents(client, seeded, method, path, status, slug):
    response = await client.request(method, path, headers=bearer(principals(seeded)["admin"]))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"https://homevitals.dk/problems/{slug}"
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert problem["instance"] == path.split("?")[0] and problem["request_id"]
    if slug == "validation-error":
        assert problem["errors"][0]["location"] in ("query.limit", "path.citizen_id")


async def test_bad_tokens_are_401_invalid_token(client, seeded):
    from api_support import token

    expired = token("clinician", "dr.hansen", ttl=-timedelta(minutes=5))
    forged = token("clinician", "dr.hansen", secret="another-secret-that-is-long-enough-0123")
    for bad in (expired, forged, "garbage"):
        response = await client.get("/api/v1/citizens", headers=bearer(bad))
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith(
            'Bearer realm="homevitals", error="invalid_token"'
        )
