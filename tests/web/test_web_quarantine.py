"""The unassigned page shows quarantined readings apart, with their reason, and offers no assign."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from api_support import insert_reading
from web_http import dev_login

from tests.support.factories import insert_gateway


@pytest.fixture
def http(web_server):
    with httpx.Client(base_url=web_server.base_url, timeout=20) as client:
        yield client


def test_quarantined_readings_show_their_reason_and_cannot_be_assigned(web_db, http):
    dsn, _, seeded = web_db
    with psycopg.connect(dsn, autocommit=True) as conn:
        insert_gateway(conn, "gw-hostile")
        for hour in range(2):
            reading = insert_reading(conn, device_id=seeded.spare_device, systolic=230, diastolic=120,
                                     measured_at=datetime.now(UTC) - timedelta(hours=hour + 1))
            conn.execute("UPDATE readings SET gateway_id = 'gw-hostile', "
                         "quarantine_reason = 'device_bound_to_other_gateway' WHERE reading_id = %s", (reading,))
    dev_login(http, "nurse.nord")
    page = http.get("/app/ikke-tildelte")
    assert page.status_code == 200
    cards = re.findall(r'<li class="card"(.*?)</li>', page.text, flags=re.S)
    quarantined = [c for c in cards if 'data-quarantine="device_bound_to_other_gateway"' in c]
    assert len(quarantined) == 1
    assert "sendt af gateway gw-hostile, som ikke betjener denne måler" in quarantined[0]
    assert quarantined[0].count("<tr data-reading=") == 2 and "I karantæne" in quarantined[0]
    assert 'class="assign-form"' not in quarantined[0]
    # The device's ordinary unassigned readings stay assignable, in their own card.
    ordinary = [c for c in cards if "data-quarantine" not in c and f'data-device="{seeded.spare_device}"' in c]
    assert len(ordinary) == 1 and 'class="assign-form"' in ordinary[0]
    assert ordinary[0].count("<tr data-reading=") == seeded.unassigned
