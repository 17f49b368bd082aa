"""The FastAPI application factory. Settings come in explicitly; nothing reads the environment here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp

from api import __version__
from api.auth import TokenVerifier
from api.context import RequestIdMiddleware
from api.db import Database, PoolConfig
from api.enrollment.broker import BrokerAdminFactory
from api.fhir.router import router as fhir_router
from api.headers import SecurityHeadersMiddleware, inline_script_policy
from api.problems import PROBLEM_RESPONSES, install_problem_handlers, problems_as_problem_json
from api.routers import (
    alerts,
    assignments,
    audit_log,
    citizens,
    devices_gateways,
    enrollment,
    health,
    readings,
    reports,
    thresholds,
)
from api.settings import ApiSettings

if TYPE_CHECKING:
    from web.settings import WebSettings

API_PREFIX = "/api/v1"
DESCRIPTION = """
Home blood pressure and vital signs for Danish municipalities: citizens, devices,
assignments, readings, alerts, home blood-pressure reports (ESH protocol) and HL7 FHIR R4.

Every request needs `Authorization: Bearer <JWT>`; the token's `role` (citizen, caregiver,
clinician, admin) and scope (`team`, `citizen`) decide what it may see. Errors are RFC 9457
`application/problem+json`. Every access to a citizen's data is written to the audit log.
See docs/api.md.
"""


class HomevitalsApi(FastAPI):
    """FastAPI with the security headers outside everything, so error pages carry them too
    (Starlette's ServerErrorMiddleware is otherwise the outermost layer)."""

    def __init__(self, *, settings: ApiSettings, **kwargs: Any) -> None:
        self._header_settings = settings
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(
            super().build_middleware_stack(),
            hsts_max_age_s=self._header_settings.hsts_max_age_s,
            public_base_url=self._header_settings.public_base_url,
        )


def create_app(
    settings: ApiSettings,
    *,
    database: Database | None = None,
    web: WebSettings | None = None,
    broker_admin: BrokerAdminFactory | None = None,
) -> FastAPI:
    """Build the app; ``database`` lets a caller share a pool (the app opens and closes it).

    With ``web`` (enabled), the web app (web/) is mounted under /app in the same process.
    ``broker_admin`` opens broker admin sessions (enrollment); without it the API enrolls nothing.
    """
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

    app = HomevitalsApi(
        settings=settings,
        title="homevitals API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below, with a content security policy for its inline script
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.verifier = verifier
    app.state.broker_admin = broker_admin
    app.state.enrollment_policy = settings.enrollment_policy()
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    for module in (
        citizens, devices_gateways, enrollment, assignments, readings, thresholds, alerts, audit_log, reports
    ):
        app.include_router(module.router, prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
    app.include_router(fhir_router, responses=PROBLEM_RESPONSES)
    app.include_router(health.router)
    if web is not None and web.web_enabled:
        from web.app import mount_web  # noqa: PLC0415 - the API runs without the web app too

        mount_web(app, settings, web)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = problems_as_problem_json(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    _serve_docs_page(app)
    return app


def _serve_docs_page(app: FastAPI) -> None:
    page = get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - docs")
    policy = inline_script_policy(
        bytes(page.body).decode(),
        script_origin="https://cdn.jsdelivr.net",
        image_origin="https://fastapi.tiangolo.com",
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(bytes(page.body), headers={"Content-Security-Policy": policy})
