"""API test fixtures: the app on a fresh TimescaleDB per test, reached over real HTTP (ASGI).

The app connects as a login role that is only a member of ``homevitals_api``, so the tests
also prove that role's grants are enough.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from api_support import FakeBrokerAdmin, Seed, make_settings, seed

from api.app import create_app
from api.settings import ApiSettings
from devstack.services.postgres import LocalPostgres

API_LOGIN = "homevitals_api_tests"


@pytest.fixture(scope="session")
def api_login(postgres_server: LocalPostgres, migrated_template: str) -> str:
    """A LOGIN role with exactly the API's privileges (roles are cluster-wide)."""
    postgres_server.execute(
        "postgres",
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{API_LOGIN}') THEN "
        f"CREATE ROLE {API_LOGIN} LOGIN IN ROLE homevitals_api; END IF; END $$",
    )
    return API_LOGIN


@pytest.fixture
def api_dsn(db_dsn: str, postgres_server: LocalPostgres, api_login: str) -> str:
    return postgres_server.dsn_for(db_dsn.rsplit("/", 1)[1], user=api_login)


@pytest.fixture
def settings(api_dsn: str) -> ApiSettings:
    return make_settings(api_dsn)


@pytest.fixture
def seeded(db_dsn: str) -> Seed:
    return seed(db_dsn)


@pytest.fixture
def broker() -> FakeBrokerAdmin:
    """The broker's admin interface, faked (tests/enrollment/ drives the real one)."""
    return FakeBrokerAdmin()


@pytest.fixture
async def client(settings: ApiSettings, broker: FakeBrokerAdmin) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, broker_admin=broker.session)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
