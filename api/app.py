"""The FastAPI application factory. Settings come in explicitly; nothing reads the environment here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api import __version__
from api.auth import TokenVerifier
from api.context import RequestIdMiddleware
from api.db import Database, PoolConfig
from api.fhir.router import router as fhir_router
from api.problems import PROBLEM_RESPONSES, install_problem_handlers, problems_as_problem_json
from api.routers import (
    alerts,
    assignments,
    audit_log,
    citizens,
    devices_gateways,
    health,
    readings,
    reports,
    thresholds,
)
from api.settings import ApiSettings

API_PREFIX = "/api/v1"
DESCRIPTION = """
Home blood pressure and vital signs for Danish municipalities: citizens, devices,
assignments, readings, alerts, home blood-pressure reports (ESH protocol) and HL7 FHIR R4.

Every request needs `Authorization: Bearer <JWT>`; the token's `role` (citizen, caregiver,
clinician, admin) and scope (`team`, `citizen`) decide what it may see. Errors are RFC 9457
`application/problem+json`. Every access to a citizen's data is written to the audit log.
See docs/api.md.
"""


def create_app(settings: ApiSettings, *, database: Database | None = None) -> FastAPI:
    """Build the app; ``database`` lets a caller share a pool (the app opens and closes it)."""
    verifier = TokenVerifier(settings.verifier_config())
    db = database or Database(
        PoolConfig(
            dsn=settings.database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            statement_timeout_ms=settings.statement_timeout_ms,
        )
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await db.open()
        try:
            yield
        finally:
            await db.close()

    app = FastAPI(
        title="homevitals API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.verifier = verifier
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    for module in (citizens, devices_gateways, assignments, readings, thresholds, alerts, audit_log, reports):
        app.include_router(module.router, prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
    app.include_router(fhir_router, responses=PROBLEM_RESPONSES)
    app.include_router(health.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = problems_as_problem_json(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
