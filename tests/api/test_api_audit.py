"""Audit: one audit_log row per request that reads or changes citizen data, with the right fields."""

from __future__ import annotations

import httpx
import psycopg
import pytest
import structlog
from api_support import audit_rows, bearer, principals

from api.app import create_app


async def test_a_read_writes_exactly_one_row_with_every_field(client, seeded, db_dsn):
    tokens = principals(seeded)
    response = await client.get(
        f"/api/v1/citizens/{seeded.anna}/readings",
        params={"kind": "blood_pressure"},
        headers={**bearer(tokens["caregiver"]), "X-Request-ID": "req-7f3a"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-7f3a"
    rows = audit_rows(db_dsn)
    assert len(rows) == 1
    row = rows[0]
    assert (row["actor"], row["role"], row["action"], row["citizen_id"], row["resource"]) == (
        "nurse.nord",
        "caregiver",
        "read",
        seeded.anna,
        f"citizens/{seeded.anna}/readings",
    )
    assert (row["request_id"], row["client_address"], row["outcome"]) == ("req-7f3a", "192.0.2.10", "ok")
    assert row["details"] == {"kind": "blood_pressure"}
    assert row["at"] is not None


async def test_each_request_is_one_row_and_request_ids_are_generated(client, seeded, db_dsn):
    headers = bearer(principals(seeded)["clinician"])
    ids = []
    for path in (
        f"/api/v1/citizens/{seeded.anna}",
        f"/api/v1/citizens/{seeded.anna}/thresholds",
        f"/fhir/Patient/{seeded.anna}",
        f"/api/v1/alerts/{seeded.alert_anna}",
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        ids.append(response.headers["x-request-id"])
    rows = audit_rows(db_dsn)
    assert [r["request_id"] for r in rows] == ids and len(set(ids)) == 4
    assert [r["action"] for r in rows] == ["read", "read", "export", "read"]
    assert {r["citizen_id"] for r in rows} == {seeded.anna}


async def test_health_and_refused_tokens_write_nothing(client, seeded, db_dsn):
    await client.get("/healthz")
    await client.get("/readyz")
    await client.get(f"/api/v1/citizens/{seeded.anna}", headers=bearer("not-a-token"))
    assert audit_rows(db_dsn) == []


async def test_a_change_and_its_audit_row_commit_together(client, seeded, db_dsn):
    admin = bearer(principals(seeded)["admin"])
    response = await client.patch(
        f"/api/v1/citizens/{seeded.bo}", json={"family_name": "Bech"}, headers=admin
    )
    assert response.status_code == 200 and response.json()["family_name"] == "Bech"
    [row] = audit_rows(db_dsn)
    assert (row["action"], row["citizen_id"], row["details"]) == (
        "update",
        seeded.bo,
        {"fields": ["family_name"]},
    )


@pytest.fixture
def plain_error_logs():
    """structlog's default console renderer draws rich tracebacks with locals: seconds per error."""
    saved = structlog.get_config()
    structlog.configure(
        processors=[structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    )
    yield
    structlog.configure(**saved)


async def test_no_audit_row_means_no_change(settings, seeded, db_dsn, plain_error_logs):
    """If the audit row cannot be written, the change it describes is rolled back."""
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("REVOKE INSERT ON audit_log FROM homevitals_api")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.patch(
                f"/api/v1/citizens/{seeded.bo}",
                json={"family_name": "Bech"},
                headers=bearer(principals(seeded)["admin"]),
            )
            read = await http.get(
                f"/api/v1/citizens/{seeded.bo}", headers=bearer(principals(seeded)["clinician"])
            )
    assert response.status_code == 500 and read.status_code == 500  # reads are refused too
    assert response.headers["content-type"] == "application/problem+json"
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT family_name FROM citizens WHERE id = %s", (seeded.bo,)).fetchone() == (
            "Berg",
        )


async def test_list_rows_name_every_citizen_in_the_answer(client, seeded, db_dsn):
    await client.get("/api/v1/citizens", headers=bearer(principals(seeded)["caregiver"]))
    [row] = audit_rows(db_dsn)
    assert row["citizen_id"] is None and row["resource"] == "citizens"
    assert row["details"] == {"citizen_ids": sorted([seeded.anna, seeded.bo])}


async def test_citizen_sees_who_accessed_their_data(client, seeded, db_dsn):
    tokens = principals(seeded)
    await client.get(f"/api/v1/citizens/{seeded.anna}/readings", headers=bearer(tokens["clinician"]))
    await client.get("/api/v1/citizens", headers=bearer(tokens["caregiver"]))  # a list that includes Anna
    await client.get(
        f"/api/v1/citizens/{seeded.anna}", headers=bearer(tokens["caregiver_other_team"])
    )  # refused
    await client.get(f"/api/v1/citizens/{seeded.carl}", headers=bearer(tokens["clinician"]))  # not about Anna

    response = await client.get(
        f"/api/v1/citizens/{seeded.anna}/access-log", headers=bearer(tokens["citizen"])
    )
    assert response.status_code == 200
    entries = [
        (e["actor"], e["role"], e["action"], e["resource"], e["outcome"]) for e in response.json()["items"]
    ]
    assert entries == [  # newest first
        ("nurse.syd", "caregiver", "read", f"citizens/{seeded.anna}", "denied"),
        ("nurse.nord", "caregiver", "read", "citizens", "ok"),
        ("dr.hansen", "clinician", "read", f"citizens/{seeded.anna}/readings", "ok"),
    ]
    # Looking at the access log is itself an access, and shows up next time.
    again = await client.get(f"/api/v1/citizens/{seeded.anna}/access-log", headers=bearer(tokens["citizen"]))
    assert again.json()["items"][0]["actor"] == "anna.andersen"
    # Bo's log does not show Anna's accesses, but does show the list that named him.
    bo = await client.get(f"/api/v1/citizens/{seeded.bo}/access-log", headers=bearer(tokens["admin"]))
    assert [e["resource"] for e in bo.json()["items"]] == ["citizens"]


async def test_admin_audit_query_filters_and_pages(client, seeded, db_dsn):
    tokens = principals(seeded)
    for _ in range(3):
        await client.get(f"/api/v1/citizens/{seeded.anna}", headers=bearer(tokens["clinician"]))
    await client.get(f"/api/v1/citizens/{seeded.carl}", headers=bearer(tokens["clinician"]))
    admin = bearer(tokens["admin"])
    page = (
        await client.get("/api/v1/audit", params={"citizen_id": seeded.anna, "limit": 2}, headers=admin)
    ).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (
        await client.get(
            "/api/v1/audit",
            params={"citizen_id": seeded.anna, "limit": 2, "cursor": page["next_cursor"]},
            headers=admin,
        )
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {e["citizen_id"] for e in page["items"] + rest["items"]} == {seeded.anna}
    assert all(e["client_address"] == "192.0.2.10" for e in page["items"])
    by_actor = (await client.get("/api/v1/audit", params={"actor": "admin.it"}, headers=admin)).json()
    assert [e["resource"] for e in by_actor["items"]] == ["audit", "audit"]  # the admin's own two queries
