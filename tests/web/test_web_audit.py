"""Every page load and every action of the web app writes the API's audit rows, and no page
shows a caregiver of another team anything of a citizen they may not see.

Each request carries its own X-Request-ID (the API's request-id middleware keeps a valid
one), so the rows a page wrote are found by ``audit_log.request_id``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from api_support import NORD, bearer, token
from web_http import csrf_of, dev_login
from web_support import COPENHAGEN

from api.reports.home_bp import bp_session


@dataclass(frozen=True)
class Row:
    actor: str
    role: str
    action: str
    resource: str
    citizen_id: int | None
    citizen_ids: tuple[int, ...]
    outcome: str


class Walker:
    """One logged-in browser-like client whose every request is tagged and whose rows are read back."""

    def __init__(self, http: httpx.Client, dsn: str) -> None:
        self.http, self.dsn = http, dsn

    def send(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, list[Row]]:
        request_id = f"webaudit-{uuid.uuid4().hex}"
        response = self.http.request(method, path, headers={"X-Request-ID": request_id}, **kwargs)
        assert response.headers["x-request-id"] == request_id
        with psycopg.connect(self.dsn) as conn:
            found = conn.execute(
                "SELECT actor, role, action, resource, citizen_id, details, outcome FROM audit_log "
                "WHERE request_id = %s ORDER BY id",
                (request_id,),
            ).fetchall()
        rows = [
            Row(a, r, act, res, cid, tuple((d or {}).get("citizen_ids", [])), out)
            for a, r, act, res, cid, d, out in found
        ]
        return response, rows

    def get(self, path: str) -> tuple[httpx.Response, list[Row]]:
        response, rows = self.send("GET", path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response, rows

    def post(self, path: str, form_page: str, data: dict[str, str]) -> list[Row]:
        page = self.http.get(form_page)
        response, rows = self.send("POST", path, data={**data, "csrf_token": csrf_of(page.text)})
        assert response.status_code == 303, (path, response.status_code, response.text[:300])
        return rows


def about(rows: list[Row], citizen: int) -> set[tuple[str, str]]:
    """(action, resource) of the rows that name this citizen, alone or in a list."""
    return {(r.action, r.resource) for r in rows if r.citizen_id == citizen or citizen in r.citizen_ids}


@pytest.fixture
def nurse(web_server, web_db):
    with httpx.Client(base_url=web_server.base_url, timeout=20) as http:
        dev_login(http, "nurse.nord")
        yield Walker(http, web_db[0])


def test_every_staff_page_and_action_writes_the_apis_audit_rows(nurse, web_db):
    _, _, s = web_db
    everyone = {s.anna, s.bo, s.dora}

    _, rows = nurse.get("/app/i-dag")
    assert [(r.actor, r.role, r.action, r.resource, r.outcome) for r in rows] == [
        ("nurse.nord", "caregiver", "read", "care-overview", "ok")
    ]
    assert set(rows[0].citizen_ids) == everyone  # the other team's Carl is neither shown nor logged

    _, rows = nurse.get(f"/app/borger/{s.anna}")
    assert {r.actor for r in rows} == {"nurse.nord"} and {r.outcome for r in rows} == {"ok"}
    assert {
        ("read", f"citizens/{s.anna}"),
        ("read", f"citizens/{s.anna}/readings"),
        ("read", f"citizens/{s.anna}/thresholds"),
        ("read", f"citizens/{s.anna}/reports/home-bp"),
        ("read", "devices"),
    } <= about(rows, s.anna)
    assert any(r.resource == "alerts" and s.anna in (r.citizen_id, *r.citizen_ids) for r in rows)

    for report in ("rapport.html", "rapport.pdf"):
        response, rows = nurse.get(f"/app/borger/{s.anna}/{report}")
        assert [(r.action, r.citizen_id) for r in rows] == [("export", s.anna)], report
    assert response.content.startswith(b"%PDF")

    _, rows = nurse.get(f"/app/borger/{s.anna}/graensevaerdier")
    assert ("read", f"citizens/{s.anna}/thresholds") in about(rows, s.anna)
    rows = nurse.post(
        f"/app/borger/{s.anna}/graensevaerdier",
        f"/app/borger/{s.anna}/graensevaerdier",
        {
            "systolic.alert_low": "80", "systolic.warn_low": "95", "systolic.warn_high": "150",
            "systolic.alert_high": "175", "diastolic.alert_low": "45", "diastolic.warn_low": "55",
            "diastolic.warn_high": "95", "diastolic.alert_high": "110", "pulse_rate.alert_low": "40",
            "pulse_rate.warn_low": "50", "pulse_rate.warn_high": "100", "pulse_rate.alert_high": "120",
        },
    )
    assert ("update", f"citizens/{s.anna}/thresholds") in about(rows, s.anna)

    _, rows = nurse.get("/app/alarmer")
    assert {r.action for r in rows} == {"read"} and s.anna in {c for r in rows for c in r.citizen_ids}
    rows = nurse.post(f"/app/alarmer/{s.alert_anna}/kvitter", "/app/alarmer", {"note": "ringet op"})
    assert ("acknowledge", f"alerts/{s.alert_anna}") in about(rows, s.anna)
    rows = nurse.post(f"/app/alarmer/{s.alert_anna}/afslut", "/app/alarmer", {"note": "faldet igen"})
    assert ("resolve", f"alerts/{s.alert_anna}") in about(rows, s.anna)

    _, rows = nurse.get("/app/ikke-tildelte")
    assert {r.action for r in rows} == {"read"}
    assert any(r.resource.startswith("unassigned") for r in rows)
    rows = nurse.post(
        "/app/ikke-tildelte/tildel",
        "/app/ikke-tildelte",
        {"device_id": str(s.spare_device), "user_slot": "1", "citizen_id": str(s.bo), "from_date": "2020-01-01"},
    )
    assert {"create", "assign"} <= {action for action, _ in about(rows, s.bo)}

    _, rows = nurse.get("/app/enheder")
    assert ("read", "devices") in about(rows, s.anna)
    assert s.carl not in {c for r in rows for c in (r.citizen_id, *r.citizen_ids)}


def test_a_page_writes_the_same_rows_as_the_api_calls_it_makes(nurse, web_server, web_db):
    """The thresholds page and the API's two reads, side by side: same action, resource, citizen."""
    _, _, s = web_db
    _, page_rows = nurse.get(f"/app/borger/{s.bo}/graensevaerdier")
    api_rows: list[Row] = []
    with httpx.Client(base_url=web_server.base_url, timeout=20) as api:
        api.headers.update(bearer(token("caregiver", "nurse.nord", team=NORD)))
        api_walker = Walker(api, web_db[0])
        for path in (f"/api/v1/citizens/{s.bo}", f"/api/v1/citizens/{s.bo}/thresholds"):
            api_rows += api_walker.get(path)[1]
    assert page_rows == api_rows and len(page_rows) == 2


def test_the_citizens_own_view_is_audited_as_theirs(web_server, web_db):
    dsn, _, s = web_db
    with httpx.Client(base_url=web_server.base_url, timeout=20) as http:
        dev_login(http, "anna.andersen")
        _, rows = Walker(http, dsn).get("/app/mig")
    assert rows and {(r.actor, r.role, r.citizen_id, r.outcome) for r in rows} == {
        ("anna.andersen", "citizen", s.anna, "ok")
    }
    assert {"read", "export"} >= {r.action for r in rows}
    assert f"citizens/{s.anna}/access-log" in {r.resource for r in rows}


CITIZEN_PAGES = ("", "/graensevaerdier", "/rapport.html", "/rapport.pdf")


def test_another_teams_caregiver_is_refused_every_citizen_page_and_action(web_server, web_db):
    dsn, _, s = web_db
    with psycopg.connect(dsn) as conn:
        alert_before = conn.execute("SELECT state, note FROM alerts WHERE id = %s", (s.alert_anna,)).fetchone()
    with httpx.Client(base_url=web_server.base_url, timeout=20) as http:
        dev_login(http, "nurse.syd")
        walker = Walker(http, dsn)
        for suffix in CITIZEN_PAGES:
            response, rows = walker.send("GET", f"/app/borger/{s.anna}{suffix}")
            assert response.status_code in (403, 404), suffix
            assert "Anna" not in response.text and "Andersen" not in response.text, suffix
            assert [(r.actor, r.outcome, r.citizen_id) for r in rows] == [("nurse.syd", "denied", s.anna)], suffix
        response, rows = walker.send("GET", f"/app/alarmer?borger={s.anna}")
        assert response.status_code == 403 and "Anna" not in response.text
        assert [(r.outcome, r.citizen_id) for r in rows] == [("denied", s.anna)]
        token = csrf_of(http.get("/app/i-dag").text)
        actions = {
            f"/app/alarmer/{s.alert_anna}/kvitter": {"note": "x"},
            f"/app/alarmer/{s.alert_anna}/afslut": {"note": "x"},
            f"/app/borger/{s.anna}/graensevaerdier": {"systolic.warn_high": "150"},
            "/app/ikke-tildelte/tildel": {"device_id": str(s.spare_device), "user_slot": "2",
                                          "citizen_id": str(s.anna), "from_date": "2020-01-01"},
        }
        for path, data in actions.items():
            response, rows = walker.send("POST", path, data={**data, "csrf_token": token})
            assert response.status_code in (403, 404), (path, response.status_code)
            assert "Anna" not in response.text, path
            assert [(r.actor, r.outcome, r.citizen_id) for r in rows] == [("nurse.syd", "denied", s.anna)], path
        for page in ("/app/i-dag", "/app/alarmer", "/app/enheder", "/app/ikke-tildelte"):
            response, _ = walker.send("GET", page)
            assert response.status_code == 200 and "Andersen" not in response.text, page
    with psycopg.connect(dsn) as conn:
        alert = conn.execute("SELECT state, note FROM alerts WHERE id = %s", (s.alert_anna,)).fetchone()
        assigned = conn.execute(
            "SELECT count(*) FROM device_assignments WHERE citizen_id = %s AND user_slot = 2", (s.anna,)
        ).fetchone()
    assert alert == alert_before and assigned == (0,)


def test_the_citizen_page_shows_the_apis_home_bp_summary(nurse, web_server, web_db):
    dsn, _, s = web_db
    page, _ = nurse.get(f"/app/borger/{s.anna}")
    with httpx.Client(base_url=web_server.base_url, timeout=20) as api:
        api.headers.update(bearer(token("caregiver", "nurse.nord", team=NORD)))
        report = api.get(f"/api/v1/citizens/{s.anna}/reports/home-bp", params={"days": 7}).json()
    # Six 08:00 mornings (the first monitoring day left out) plus one reading two hours
    # before the seed ran, which counts only if that hour falls in an ESH session: the
    # expectation follows the clock the suite runs at instead of assuming one.
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT measured_at FROM readings WHERE citizen_id = %s ORDER BY measured_at", (s.anna,)
        ).fetchall()
    first_day = rows[0][0].astimezone(COPENHAGEN).date()
    used = [at for (at,) in rows if at.astimezone(COPENHAGEN).date() != first_day and bp_session(at) is not None]
    used_days = {at.astimezone(COPENHAGEN).date() for at in used}
    overall = report["overall"]
    assert len(rows) == 7 and len(used) in (5, 6)
    assert overall["count"] == len(used)
    assert report["days_with_readings"] == len(used_days)
    shown = f"{overall['systolic_mean']:.0f}/{overall['diastolic_mean']:.0f} mmHg"
    assert f"data-report-mean>{shown}</span>" in page.text
    assert f"ESH-protokollen: {len(used)} målinger på {len(used_days)} dage" in page.text
    assert "færre målinger end protokollen kræver (12 på 3 dage)" in page.text


@pytest.mark.unit
@pytest.mark.parametrize(
    ("resource", "words"),
    [
        ("citizens/17", "minlog.record"),
        ("citizens", "minlog.record"),
        ("citizens/17/readings", "minlog.readings"),
        ("citizens/17/thresholds", "minlog.thresholds"),
        ("citizens/17/reports/home-bp", "minlog.report"),
        ("citizens/17/reports/home-bp.pdf", "minlog.report"),
        ("citizens/17/access-log", "minlog.log"),
        ("care-overview", "minlog.overview"),
        ("alerts", "minlog.alerts"),
        ("alerts/3", "minlog.alerts"),
        ("devices", "minlog.devices"),
        ("gateways", "minlog.devices"),
        ("assignments/4", "minlog.devices"),
        ("fhir/Patient/17", "minlog.fhir"),
        ("something-new", None),  # shown as it is, never hidden
    ],
)
def test_min_log_says_what_was_looked_at_in_the_citizens_words(resource, words):
    from web.i18n import translate
    from web.routers.me import resource_words

    assert resource_words(resource) == words
    if words:
        assert translate("da", words) and translate("en", words)
