"""Web tests: the real `homevitals api run` process (with the web app) on a seeded
TimescaleDB, driven over HTTP and by Debian's headless Chromium.

One database and one server per module: starting them is most of a web test's cost.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# isort: off
from web_support import WebSeed, dev_users, seed_day  # puts tests/api on sys.path first
from api_support import Server, api_env, api_server

# isort: on
from devstack.services.ports import free_port
from devstack.services.postgres import LocalPostgres
from tests.support.database import create_database, drop_database

API_LOGIN = "homevitals_web_tests"
ARTEFACTS = Path(__file__).resolve().parent / "artefacts"
_databases = iter(range(1_000_000))


@pytest.fixture(scope="session")
def web_login(postgres_server: LocalPostgres, migrated_template: str) -> str:
    postgres_server.execute(
        "postgres",
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{API_LOGIN}') THEN "
        f"CREATE ROLE {API_LOGIN} LOGIN IN ROLE homevitals_api; END IF; END $$",
    )
    return API_LOGIN


@pytest.fixture(scope="module")
def web_db(postgres_server: LocalPostgres, web_login: str) -> Iterator[tuple[str, str, WebSeed]]:
    """(superuser DSN, API login DSN, seed) of a fresh database for this module."""
    name = f"web_{os.getpid()}_{next(_databases)}"
    dsn = create_database(postgres_server, name)
    seeded = seed_day(dsn)
    yield dsn, postgres_server.dsn_for(name, user=web_login), seeded
    drop_database(postgres_server, name)


@pytest.fixture(scope="module")
def web_server(repo_root: Path, web_db: tuple[str, str, WebSeed], tmp_path_factory) -> Iterator[Server]:
    _, api_dsn, seeded = web_db
    env = api_env(api_dsn, free_port())
    env.update(API_WEB_DEV_LOGIN="true", API_WEB_DEV_USERS=dev_users(seeded), API_ORGANISATION="Testkommune")
    with api_server(repo_root, env, tmp_path_factory.mktemp("web") / "api.log") as server:
        yield server


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """Screenshots of the pages (git-ignored), this run's only; the path is printed at the end."""
    ARTEFACTS.mkdir(exist_ok=True)
    for old in ARTEFACTS.glob("*.png"):
        old.unlink()
    return ARTEFACTS


def pytest_terminal_summary(terminalreporter) -> None:
    """Say where the screenshots are, whatever the capture mode."""
    shots = sorted(ARTEFACTS.glob("*.png")) if ARTEFACTS.exists() else []
    if shots:
        terminalreporter.write_line(f"web screenshots: {len(shots)} in {ARTEFACTS}")


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    for path, package in ((browser, "chromium"), (driver, "chromium-driver")):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: run scripts/setup as root (installs Debian's {package})")
    return browser, driver


@pytest.fixture(scope="module")
def browser(artefacts: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1024,900", "--lang=da"):
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.implicitly_wait(0)
    try:
        yield chrome
    finally:
        chrome.quit()
