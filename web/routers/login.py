"""Login (OpenID Connect, or the development login when configured), logout, language."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.roles import Principal, Role
from web.context import (
    CSRF_FIELD,
    SESSION_COOKIE,
    CsrfRefused,
    FormPageDep,
    cookie_path,
    render,
    request_lang,
    secure_cookies,
)
from web.i18n import LANG_COOKIE, pick_lang, translate
from web.oidc import LoginRefused, finish_login, provider_logout_url, start_login
from web.sessions import LoginMethod, csrf_matches, open_session, revoke_session
from web.settings import WebSettings

router = APIRouter()
log = structlog.get_logger()
LOGIN_CSRF_KEY = "login_csrf"


def safe_next(value: str | None, root: str) -> str:
    """Only paths inside the web app: never an open redirect to another site."""
    if value and value.startswith(f"{root}/") and not value.startswith("//") and "\\" not in value:
        return value
    return f"{root}/"


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.web_settings
    return settings


@router.get("/login", response_class=HTMLResponse, name="login_page")
async def login_page(request: Request, next: str | None = None, error: str | None = None) -> HTMLResponse:  # noqa: A002
    settings = _settings(request)
    request.session.setdefault(LOGIN_CSRF_KEY, secrets.token_urlsafe(32))
    request.session["next"] = safe_next(next, cookie_path(request))
    return render(
        request,
        "login.html",
        oidc=request.app.state.oauth is not None,
        dev_users=settings.web_dev_users if settings.web_dev_login else [],
        login_csrf=request.session[LOGIN_CSRF_KEY],
        error=error,
        logged_out=request.query_params.get("logged_out") == "1",
    )


async def _logged_in(request: Request, principal: Principal, method: LoginMethod) -> Response:
    settings = _settings(request)
    async with request.app.state.database.transaction() as conn:
        token = await open_session(
            conn, principal, method=method, lifetime=timedelta(hours=settings.web_session_hours)
        )
    root = cookie_path(request)
    target = safe_next(request.session.pop("next", None), root)
    if target == f"{root}/" and principal.role is Role.CITIZEN:
        target = f"{root}/mig"
    request.session.pop(LOGIN_CSRF_KEY, None)
    log.info("web login", sub=principal.sub, role=principal.role.value, method=method)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.web_session_hours * 3600),
        path=root,
        secure=secure_cookies(request),
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/login/dev")
async def dev_login(
    request: Request, sub: Annotated[str, Form()], csrf_token: Annotated[str, Form()]
) -> Response:
    settings = _settings(request)
    if not settings.web_dev_login:
        return render(request, "error.html", status_code=404, message_key="error.404", detail=None)
    if not csrf_matches(request.session.get(LOGIN_CSRF_KEY, ""), csrf_token):
        raise CsrfRefused
    user = next((u for u in settings.web_dev_users if u.sub == sub), None)
    if user is None:
        return render(request, "error.html", status_code=403, message_key="error.403", detail=None)
    principal = Principal(sub=user.sub, role=user.role, team=user.team, citizen_id=user.citizen)
    return await _logged_in(request, principal, "development")


@router.get("/login/oidc")
async def oidc_login(request: Request) -> Response:
    client = request.app.state.oauth
    if client is None:
        return render(request, "error.html", status_code=404, message_key="error.404", detail=None)
    response: Response = await start_login(client, request, str(request.url_for("oidc_callback")))
    return response


@router.get("/login/callback", name="oidc_callback")
async def oidc_callback(request: Request) -> Response:
    client = request.app.state.oauth
    if client is None:
        return render(request, "error.html", status_code=404, message_key="error.404", detail=None)
    try:
        principal = await finish_login(client, request)
    except LoginRefused as refused:
        log.warning("web login refused", reason=refused.reason.value, detail=refused.detail)
        return render(
            request,
            "login.html",
            status_code=401,
            oidc=True,
            dev_users=[],
            login_csrf="",
            error=translate(request_lang(request), refused.reason.message_key, detail=refused.detail),
            logged_out=False,
        )
    return await _logged_in(request, principal, "oidc")


@router.post("/logout")
async def logout(page: FormPageDep) -> Response:
    """End the session here, then (after an OIDC login) at the provider too."""
    request = page.request
    token = request.cookies.get(SESSION_COOKIE, "")
    async with page.database.transaction() as conn:
        await revoke_session(conn, token)
    root = cookie_path(request)
    target = f"{root}/login?logged_out=1"
    client = request.app.state.oauth
    if page.session.login_method == "oidc" and client is not None:
        back_to = str(request.url_for("login_page").include_query_params(logged_out=1))
        target = await provider_logout_url(client, back_to) or target
    log.info("web logout", sub=page.caller.principal.sub, at_provider=not target.startswith(root))
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=root, secure=secure_cookies(request), httponly=True)
    return response


@router.get("/sprog/{lang}")
async def switch_language(request: Request, lang: str, next: str | None = None) -> Response:  # noqa: A002
    root = cookie_path(request)
    response = RedirectResponse(safe_next(next, root), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        pick_lang(lang),
        max_age=365 * 24 * 3600,
        path=root,
        samesite="lax",
        secure=secure_cookies(request),
        httponly=True,
    )
    return response


__all__ = ["CSRF_FIELD", "router"]
