"""OpenID Connect login against a real provider: panva's oidc-provider (npm) as the IdP,
`homevitals api run` as the relying party, Authorization Code + PKCE through web/oidc.py.

The happy path runs in Chromium (the IdP's own login and consent pages); the refusals are
driven over HTTP, where the test can tamper with what a browser would carry: the callback's
``state``, the ``nonce`` sent to the IdP, the PKCE challenge and the PKCE verifier kept in
the signed login-flow cookie.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from api_support import Server, api_env, api_server
from browser_support import NPM_MODULES, screenshot, wait_for
from itsdangerous import TimestampSigner
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from web_support import NORD

from devstack.services.ports import free_port, wait_for_port

CLIENT_ID = "homevitals-web"
CLIENT_SECRET = "web-tests-oidc-client-secret-0123456789"
COOKIE_SECRET = "web-tests-cookie-secret-0123456789abcdef"
FLOW_COOKIE = "hv_login_flow"
PROVIDER_SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
MIN_NODE = 20  # oidc-provider 9 and its jose 6; it warns below 22 but runs
FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"')
PROMPT = re.compile(r'name="prompt" value="([a-z]+)"')


@pytest.fixture(scope="module")
def oidc_web(web_db, repo_root, tmp_path_factory) -> Iterator[tuple[Server, str]]:
    """(the web app with OIDC login only, the IdP's issuer URL), both real processes."""
    _, api_dsn, seeded = web_db
    module = NPM_MODULES / "oidc-provider/lib/index.js"
    if not module.exists():
        pytest.fail(f"{module} is missing: run scripts/setup (it installs oidc-provider from npm)")
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(node.lstrip("v").split(".")[0]) < MIN_NODE:
        pytest.fail(f"oidc-provider 9 needs Node.js {MIN_NODE} or later, found {node}: install a newer Node.js")
    web_port, idp_port = free_port(), free_port()
    accounts = {
        "nurse.nord": {"role": "caregiver", "team": NORD},
        "anna.andersen": {"role": "citizen", "citizen": seeded.anna},
        "no.role": {},
    }
    logs = tmp_path_factory.mktemp("oidc")
    idp_env = {
        **os.environ,
        "OIDC_PROVIDER_MODULE": module.as_uri(),
        "OIDC_PORT": str(idp_port),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URI": f"http://127.0.0.1:{web_port}/app/login/callback",
        "OIDC_POST_LOGOUT_URI": f"http://127.0.0.1:{web_port}/app/login?logged_out=1",
        "OIDC_ACCOUNTS": json.dumps(accounts),
    }
    issuer = f"http://127.0.0.1:{idp_port}"
    with (logs / "idp.log").open("w") as idp_log:
        idp = subprocess.Popen(["node", str(PROVIDER_SCRIPT)], env=idp_env, stdout=idp_log, stderr=idp_log)
        try:
            wait_for_port("127.0.0.1", idp_port, timeout=30)
            env = api_env(api_dsn, web_port)
            env.update(
                API_OIDC_DISCOVERY_URL=f"{issuer}/.well-known/openid-configuration",
                API_OIDC_CLIENT_ID=CLIENT_ID,
                API_OIDC_CLIENT_SECRET=CLIENT_SECRET,
                API_OIDC_SCOPE="openid profile homevitals",
                API_WEB_COOKIE_SECRET=COOKIE_SECRET,
                API_WEB_DEV_LOGIN="false",
            )
            with api_server(repo_root, env, logs / "api.log") as server:
                yield server, issuer
        finally:
            idp.terminate()
            idp.wait(timeout=20)


@pytest.fixture
def web(oidc_web) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=oidc_web[0].base_url, timeout=20) as client:
        yield client


def start_login(web: httpx.Client) -> str:
    """The app's redirect to the IdP's authorization endpoint."""
    assert web.get("/app/login").status_code == 200
    response = web.get("/app/login/oidc")
    assert response.status_code == 302, response.text
    return response.headers["location"]


def with_params(url: str, drop: tuple[str, ...] = (), **replace: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if k not in drop}
    query.update(replace)
    return urlunsplit(parts._replace(query=urlencode(query)))


def through_idp(authorize_url: str, web_base: str, sub: str) -> str:
    """Log in at the IdP (its login, then consent form) until it redirects back to the app."""
    url = authorize_url
    with httpx.Client(timeout=20) as idp:
        response = idp.get(url)
        for _ in range(10):
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if url.startswith(web_base):
                    return url
                response = idp.get(url)
                continue
            form, prompt = FORM.search(response.text), PROMPT.search(response.text)
            assert form and prompt, response.text
            data = {"prompt": prompt.group(1)}
            if data["prompt"] == "login":
                data |= {"login": sub, "password": "any password: the IdP's development login"}
            response = idp.post(urljoin(url, form.group(1)), data=data)
    raise AssertionError(f"the IdP never sent the browser back to {web_base}")


def sessions(dsn: str) -> list[tuple[str, str, str | None, int | None]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT sub, role, team, citizen_id FROM web_sessions WHERE login_method = 'oidc' ORDER BY created_at"
        ).fetchall()


def refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 401, response.text
    assert words in response.text
    assert "hv_session" not in response.headers.get("set-cookie", "")


def test_a_nurse_logs_in_through_the_real_idp_in_the_browser(browser, oidc_web, web_db, artefacts):
    server, issuer = oidc_web
    browser.delete_all_cookies()
    browser.get(f"{server.base_url}/app/login")
    browser.find_element(By.CSS_SELECTOR, 'a[href$="/login/oidc"]').click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.startswith(issuer))
    wait_for(browser, 'input[name="login"]').send_keys("nurse.nord")
    browser.find_element(By.CSS_SELECTOR, 'input[name="password"]').send_keys("any password")
    print(f"screenshot: {screenshot(browser, artefacts, '20-oidc-idp-login')}")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, 'input[name="prompt"][value="consent"]')
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/app/i-dag"))
    rows = browser.find_elements(By.CSS_SELECTOR, "table.overview tbody tr")
    assert str(web_db[2].anna) in [r.get_attribute("data-citizen") for r in rows]
    assert "nurse.nord" in browser.find_element(By.CSS_SELECTOR, ".who").text
    assert sessions(web_db[0])[-1] == ("nurse.nord", "caregiver", NORD, None)

    # Logout ends the session at the provider too: on a shared tablet the next person who
    # clicks "Log ind" must meet the provider's login form, not the previous nurse's session.
    browser.find_element(By.CSS_SELECTOR, "form[action$='/logout'] button").click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.startswith(issuer))
    wait_for(browser, 'button[name="logout"][value="yes"]').click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.startswith(f"{server.base_url}/app/login"))
    assert "Du er logget ud" in browser.page_source
    browser.find_element(By.CSS_SELECTOR, 'a[href$="/login/oidc"]').click()
    wait_for(browser, 'input[name="login"]')  # asked again
    assert browser.current_url.startswith(issuer)


def test_a_citizen_gets_their_citizen_id_from_the_claims(oidc_web, web_db, web):
    server, _ = oidc_web
    callback = through_idp(start_login(web), server.base_url, "anna.andersen")
    response = web.get(callback)
    assert response.status_code == 303 and response.headers["location"] == "/app/mig"
    assert "HttpOnly" in response.headers["set-cookie"]
    assert "Hej Anna" in web.get("/app/mig").text
    assert sessions(web_db[0])[-1] == ("anna.andersen", "citizen", None, web_db[2].anna)


def test_a_tampered_state_is_refused(oidc_web, web_db, web):
    before = sessions(web_db[0])
    callback = through_idp(start_login(web), oidc_web[0].base_url, "nurse.nord")
    response = web.get(with_params(callback, state="forged-by-someone-else"))
    refused(response, "hører ikke til et login, som denne browser startede")
    assert sessions(web_db[0]) == before


def test_an_id_token_with_another_nonce_is_refused(oidc_web, web_db, web):
    before = sessions(web_db[0])
    authorize = with_params(start_login(web), nonce="a-nonce-this-browser-never-made")
    response = web.get(through_idp(authorize, oidc_web[0].base_url, "nurse.nord"))
    refused(response, "ID-token, der ikke kan godkendes")
    assert "nonce" in response.text
    assert sessions(web_db[0]) == before


def test_an_authorization_request_without_pkce_is_refused_by_the_idp(oidc_web, web_db, web):
    before = sessions(web_db[0])
    authorize = with_params(start_login(web), drop=("code_challenge", "code_challenge_method"))
    response = web.get(through_idp(authorize, oidc_web[0].base_url, "nurse.nord"))
    refused(response, "Kommunens login afviste login")
    assert "PKCE" in response.text
    assert sessions(web_db[0]) == before


def test_a_code_exchange_without_the_pkce_verifier_is_refused(oidc_web, web_db, web):
    """The flow cookie re-signed without its code_verifier: the IdP refuses the code."""
    before = sessions(web_db[0])
    callback = through_idp(start_login(web), oidc_web[0].base_url, "nurse.nord")
    signer = TimestampSigner(COOKIE_SECRET)
    flow = json.loads(base64.b64decode(signer.unsign(web.cookies[FLOW_COOKIE], max_age=600)))
    (state_key,) = [k for k in flow if k.startswith("_state_idp_")]
    assert flow[state_key]["data"].pop("code_verifier")
    forged = signer.sign(base64.b64encode(json.dumps(flow).encode())).decode()
    for cookie in web.cookies.jar:
        if cookie.name == FLOW_COOKIE:
            cookie.value = forged
    response = web.get(callback)
    refused(response, "Kommunens login afviste login")
    assert "invalid_grant" in response.text
    assert sessions(web_db[0]) == before


def test_a_login_without_a_role_claim_is_refused_with_what_to_do(oidc_web, web_db, web):
    before = sessions(web_db[0])
    response = web.get(through_idp(start_login(web), oidc_web[0].base_url, "no.role"))
    refused(response, "Bed IT om at give dig en rolle")
    assert sessions(web_db[0]) == before


def test_a_grafana_link_survives_the_login_and_lands_on_the_citizen(oidc_web, web_db, web):
    """Grafana's data link opens /app/borger/{id}; logged out, the nurse logs in and is there."""
    server, _ = oidc_web
    page = f"/app/borger/{web_db[2].anna}"
    first = web.get(page)
    assert first.status_code == 303 and first.headers["location"].startswith("/app/login?next=")
    assert web.get(first.headers["location"]).status_code == 200
    authorize = web.get("/app/login/oidc").headers["location"]
    landed = web.get(through_idp(authorize, server.base_url, "nurse.nord"))
    assert landed.status_code == 303 and landed.headers["location"] == page
    assert "Anna Andersen" in web.get(page).text
