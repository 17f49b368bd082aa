"""The web app as a sub-application of the API, mounted under ``/app``.

Same process, same pool, same settings object: the pages call the API's route functions
with a :class:`api.context.Caller` made from the login session (web/context.py).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from api.db import Database
from api.errors import ApiError
from api.settings import ApiSettings
from web.context import CsrfRefused, LoginRequired, render
from web.oidc import register_provider
from web.routers import alerts, citizen, devices, login, me, thresholds, today, unassigned
from web.settings import WebSettings

WEB_PREFIX = "/app"
STATIC = Path(__file__).parent / "static"
# Pages load nothing from elsewhere: no CDN, no inline script (htmx's config is a meta tag).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def content_security_policy(settings: WebSettings) -> str:
    """The policy, with the OIDC provider's origin allowed as a form's target: the logout
    form's redirect continues there (RP-initiated logout), and browsers check form-action
    on redirects too."""
    if not settings.oidc_discovery_url:
        return CONTENT_SECURITY_POLICY
    parts = urlsplit(settings.oidc_discovery_url)
    return f"{CONTENT_SECURITY_POLICY} {parts.scheme}://{parts.netloc}"
FLOW_COOKIE = "hv_login_flow"
FLOW_COOKIE_MAX_AGE_S = 600

log = structlog.get_logger()


def create_web_app(api_settings: ApiSettings, settings: WebSettings, database: Database) -> FastAPI:
    settings.check()
    web = FastAPI(title="homevitals web", docs_url=None, redoc_url=None, openapi_url=None)
    web.state.settings = api_settings  # the API's route functions read it (organisation, silent devices)
    web.state.web_settings = settings
    web.state.database = database
    web.state.oauth = register_provider(settings)
    policy = content_security_policy(settings)
    # Only the short login flow lives in this signed cookie (OIDC state, nonce, PKCE
    # verifier, the login form's CSRF token); sessions themselves are server-side.
    web.add_middleware(
        SessionMiddleware,
        secret_key=settings.cookie_secret(),
        session_cookie=FLOW_COOKIE,
        max_age=FLOW_COOKIE_MAX_AGE_S,
        path=WEB_PREFIX,
        same_site="lax",
        https_only=settings.environment == "production",
    )

    @web.middleware("http")
    async def security_headers(request: Request, call_next: object) -> Response:
        response: Response = await call_next(request)  # type: ignore[operator]
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @web.exception_handler(LoginRequired)
    async def _login(request: Request, error: LoginRequired) -> Response:
        target = f"{request.scope.get('root_path', '')}/login?next={quote(error.next_path, safe='')}"
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @web.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _error: CsrfRefused) -> HTMLResponse:
        return render(request, "error.html", status_code=403, message_key="error.csrf", detail=None)

    @web.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> HTMLResponse:
        key = {403: "error.403", 404: "error.404", 409: "error.409"}.get(error.status, "error.422")
        detail = error.detail if error.status in (409, 422) else None
        return render(request, "error.html", status_code=error.status, message_key=key, detail=detail)

    @web.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> HTMLResponse:
        problems = error.errors()
        if any(p["loc"][:1] == ("path",) for p in problems):  # /borger/abc: no such page
            return render(request, "error.html", status_code=404, message_key="error.404", detail=None)
        fields = ", ".join(sorted({str(p["loc"][-1]) for p in problems}))
        return render(
            request, "error.html", status_code=422, message_key="error.422", detail=f"{fields}."
        )

    @web.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> HTMLResponse:
        key = "error.404" if error.status_code == 404 else "error.403"
        return render(request, "error.html", status_code=error.status_code, message_key=key, detail=None)

    for module in (login, today, citizen, thresholds, alerts, unassigned, devices, me):
        web.include_router(module.router)
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    return web


def mount_web(app: FastAPI, api_settings: ApiSettings, settings: WebSettings) -> None:
    """Serve the web app under /app of the API app (sharing its database pool)."""
    web = create_web_app(api_settings, settings, app.state.database)
    # Gateways og enheder enrolls and revokes with the API's own broker admin and policy.
    web.state.broker_admin = app.state.broker_admin
    web.state.enrollment_policy = app.state.enrollment_policy
    app.mount(WEB_PREFIX, web)
    log.info(
        "web app mounted",
        prefix=WEB_PREFIX,
        oidc=bool(settings.oidc_discovery_url),
        dev_login=settings.web_dev_login,
    )
