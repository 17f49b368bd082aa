"""Sessions, CSRF and scope over real HTTP against `homevitals api run` with the web app."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from web_http import csrf_of, dev_login

from homevitals.errors import ConfigurationError
from web.settings import WebSettings


@pytest.fixture
def http(web_server):
    with httpx.Client(base_url=web_server.base_url, timeout=20) as client:
        yield client


def test_login_sets_a_strict_cookie_and_logout_kills_the_session_server_side(web_server, web_db, http):
    response = dev_login(http, "nurse.nord")
    assert response.status_code == 303 and response.headers["location"] == "/app/"
    cookie = response.headers["set-cookie"]
    assert "hv_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind TLS the cookie is Secure
    token = http.cookies["hv_session"]
    today = http.get("/app/i-dag")
    assert today.status_code == 200 and "Anna Andersen" in today.text
    assert today.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in today.headers["content-security-policy"]

    assert http.post("/app/logout", data={"csrf_token": csrf_of(today.text)}).status_code == 303
    with httpx.Client(base_url=web_server.base_url, cookies={"hv_session": token}) as replay:
        again = replay.get("/app/i-dag")
    assert again.status_code == 303 and again.headers["location"].startswith("/app/login?next=")
    with psycopg.connect(web_db[0]) as conn:
        revoked = conn.execute("SELECT revoked_at IS NOT NULL FROM web_sessions WHERE sub = 'nurse.nord'").fetchall()
    assert revoked == [(True,)]


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(web_db, http):
    dsn, _, seeded = web_db
    dev_login(http, "nurse.nord")
    missing = http.post(f"/app/alarmer/{seeded.alert_anna}/kvitter", data={"note": "set"})
    wrong = http.post(f"/app/alarmer/{seeded.alert_anna}/kvitter", data={"note": "set", "csrf_token": "x" * 43})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "Formularen er udløbet" in missing.text
    with psycopg.connect(dsn) as conn:
        state = conn.execute("SELECT state FROM alerts WHERE id = %s", (seeded.alert_anna,)).fetchone()
    assert state == ("open",)


def test_login_form_needs_its_token_and_unknown_users_get_nothing(http):
    assert http.post("/app/login/dev", data={"sub": "nurse.nord", "csrf_token": "forged"}).status_code == 403
    assert dev_login(http, "somebody.else").status_code == 403
    assert "hv_session" not in http.cookies


def test_another_teams_caregiver_is_refused_by_url_and_the_refusal_is_audited(web_db, http):
    dsn, _, seeded = web_db
    dev_login(http, "nurse.syd")
    for path in (f"/app/borger/{seeded.anna}", f"/app/borger/{seeded.anna}/graensevaerdier",
                 f"/app/borger/{seeded.anna}/rapport.pdf"):
        response = http.get(path)
        assert response.status_code == 403, path
        assert "Anna" not in response.text
    with psycopg.connect(dsn) as conn:
        denied = conn.execute(
            "SELECT count(*) FROM audit_log WHERE actor = 'nurse.syd' AND outcome = 'denied' AND citizen_id = %s",
            (seeded.anna,),
        ).fetchone()
    assert denied == (3,)


def test_unknown_next_targets_never_leave_the_app(http):
    page = http.get("/app/login", params={"next": "https://evil.example/"})
    response = http.post("/app/login/dev", data={"sub": "nurse.nord", "csrf_token": csrf_of(page.text)})
    assert response.headers["location"] == "/app/"


@pytest.mark.unit
def test_development_login_is_off_by_default_and_refused_in_production():
    assert WebSettings().web_dev_login is False
    with pytest.raises(ConfigurationError, match="API_WEB_DEV_LOGIN"):
        WebSettings(environment="production", web_dev_login=True).check()
    with pytest.raises(ConfigurationError, match="API_OIDC_DISCOVERY_URL"):
        WebSettings(environment="production").check()


def test_a_login_deletes_sessions_that_ended_over_30_days_ago_and_keeps_the_rest(web_db, http):
    dsn = web_db[0]
    rows = {"old-expired": ("40 days", None), "old-logout": ("1 day", "31 days"), "recent-logout": ("1 day", "2 days")}
    with psycopg.connect(dsn) as conn:
        for sub, (expired_ago, revoked_ago) in rows.items():
            conn.execute(
                "INSERT INTO web_sessions (token_sha256, sub, role, team, csrf_token, login_method, expires_at, "
                "revoked_at) VALUES (sha256(%s::bytea), %s, 'caregiver', 'team-nord', 'x', 'development', "
                "now() - %s::interval, now() - %s::interval)",
                (sub.encode(), sub, expired_ago if revoked_ago is None else "-1 day", revoked_ago),
            )
    dev_login(http, "nurse.nord")
    with psycopg.connect(dsn) as conn:
        left = {r[0] for r in conn.execute("SELECT sub FROM web_sessions WHERE sub LIKE '%%-%%'")}
    assert left == {"recent-logout"}


@pytest.mark.parametrize(
    ("sub", "start", "allowed", "refused"),
    [
        ("dr.hansen", "/app/i-dag", ["/app/i-dag", "/app/alarmer", "/app/borger/{carl}"], ["/app/ikke-tildelte"]),
        ("admin.it", "/app/enheder", ["/app/enheder", "/app/ikke-tildelte"], ["/app/i-dag", "/app/borger/{anna}"]),
    ],
)
def test_each_role_starts_on_its_page_and_is_refused_what_it_may_not_see(web_server, web_db, sub, start, allowed, refused):
    seeded = web_db[2]
    with httpx.Client(base_url=web_server.base_url, timeout=20) as http:
        dev_login(http, sub)
        assert http.get("/app/").headers["location"] == start
        for path in allowed:
            page = http.get(path.format(carl=seeded.carl, anna=seeded.anna))
            assert page.status_code == 200, path
            assert "/kvitter" not in page.text and "/afslut" not in page.text  # neither may act on alerts
        for path in refused:
            page = http.get(path.format(carl=seeded.carl, anna=seeded.anna))
            assert page.status_code == 403 and "Andersen" not in page.text, path


@pytest.mark.unit
@pytest.mark.parametrize(
    ("scheme", "environment", "secure"),
    [("http", "development", False), ("https", "development", True), ("http", "production", True)],
)
def test_cookies_are_secure_over_tls_and_always_in_production(scheme, environment, secure):
    from types import SimpleNamespace

    from starlette.requests import Request

    from web.context import secure_cookies

    app = SimpleNamespace(state=SimpleNamespace(web_settings=SimpleNamespace(environment=environment)))
    request = Request({"type": "http", "scheme": scheme, "server": ("h", 443), "path": "/app/", "headers": [],
                       "query_string": b"", "app": app})
    assert secure_cookies(request) is secure


def test_a_bad_path_is_404_and_a_bad_form_names_its_fields(web_db, http):
    dev_login(http, "nurse.nord")
    assert http.get("/app/borger/not-a-number").status_code == 404
    token = csrf_of(http.get("/app/ikke-tildelte").text)
    response = http.post("/app/ikke-tildelte/tildel", data={"csrf_token": token, "device_id": "x", "user_slot": "1"})
    assert response.status_code == 422
    assert "Oplysningerne kan ikke bruges: citizen_id, device_id, from_date." in response.text
