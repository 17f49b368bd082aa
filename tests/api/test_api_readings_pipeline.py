"""A citizen's readings are read in pipeline mode (api/routers/readings.py): the read and its
audit row go to PostgreSQL together. These pin what that must not change: a read that fails
leaves no audit row, a read whose audit row cannot be written is refused, and the pooled
connection comes back usable either way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from api_support import audit_rows, bearer, principals
from psycopg import sql

from api.app import create_app
from api.routers import readings
from api.settings import ApiSettings

PAGES = ("", "?bucket=1d")  # raw readings and daily buckets


@pytest.fixture
async def one_connection(settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a pool of one connection, so the request after a failure reuses it."""
    app = create_app(settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def _failing_query(conditions: list[sql.Composable]) -> sql.Composed:
    # Fails in the database, after the citizen check and with the audit row queued behind it.
    return sql.SQL("SELECT (1 / (%(citizen_id)s - %(citizen_id)s))::text WHERE {}").format(
        sql.SQL(" AND ").join([sql.SQL("TRUE")] * len(conditions))
    )


@pytest.mark.parametrize("page", PAGES)
async def test_a_read_that_fails_in_the_database_writes_no_audit_row(
    one_connection, seeded, db_dsn, monkeypatch, page
):
    monkeypatch.setattr(readings, "_raw_query", _failing_query)
    monkeypatch.setattr(readings, "_bucket_query", _failing_query)
    headers = bearer(principals(seeded)["clinician"])
    failed = await one_connection.get(f"/api/v1/citizens/{seeded.anna}/readings{page}", headers=headers)
    assert not failed.is_success  # how a database error maps to a status is api/problems.py's business
    assert failed.headers["content-type"] == "application/problem+json"
    assert audit_rows(db_dsn) == []

    monkeypatch.undo()
    ok = await one_connection.get(f"/api/v1/citizens/{seeded.anna}/readings{page}", headers=headers)
    assert ok.status_code == 200
    assert [(r["resource"], r["outcome"]) for r in audit_rows(db_dsn)] == [
        (f"citizens/{seeded.anna}/readings", "ok")
    ]


@pytest.mark.parametrize("page", PAGES)
async def test_a_read_whose_audit_row_cannot_be_written_is_refused(one_connection, seeded, db_dsn, page):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("REVOKE INSERT ON audit_log FROM homevitals_api")
    headers = bearer(principals(seeded)["clinician"])
    refused = await one_connection.get(f"/api/v1/citizens/{seeded.anna}/readings{page}", headers=headers)
    assert refused.status_code == 500
    assert refused.headers["content-type"] == "application/problem+json"

    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("GRANT INSERT ON audit_log TO homevitals_api")
    again = await one_connection.get(f"/api/v1/citizens/{seeded.anna}/readings{page}", headers=headers)
    assert again.status_code == 200
    assert len(audit_rows(db_dsn)) == 1


async def test_a_denied_read_is_audited_and_the_connection_is_reused(one_connection, seeded, db_dsn):
    tokens = principals(seeded)
    denied = await one_connection.get(
        f"/api/v1/citizens/{seeded.anna}/readings", headers=bearer(tokens["caregiver_other_team"])
    )
    assert denied.status_code == 403
    ok = await one_connection.get(
        f"/api/v1/citizens/{seeded.anna}/readings?bucket=1w", headers=bearer(tokens["clinician"])
    )
    assert ok.status_code == 200 and ok.json()["bucket"] == "1w"
    assert [r["outcome"] for r in audit_rows(db_dsn)] == ["denied", "ok"]
