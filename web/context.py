"""What every page needs: the logged-in caller, the language, CSRF checking, rendering.

A page's caller is the API's :class:`api.context.Caller`, built from the server-side
session instead of a bearer token, so the API's route functions, scope checks and audit
rows apply unchanged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.context import Caller
from api.db import Database
from dashboards.i18n import Lang
from homevitals.errors import HomevitalsError
from web.i18n import LANG_COOKIE, pick_lang, translate
from web.sessions import WebSession, csrf_matches, load_session
from web.settings import WebSettings

SESSION_COOKIE = "hv_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
DISPLAY_TIMEZONE = "Europe/Copenhagen"
NO_VALUE = "\u2013"  # an en dash where a value is missing


class LoginRequired(HomevitalsError):
    """No live session: the browser is sent to the login page, then back to ``next_path``."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(f"log in to open {next_path}")


class CsrfRefused(HomevitalsError):
    """A form post without this session's CSRF token (403)."""

    def __init__(self) -> None:
        super().__init__("the form's CSRF token is missing or wrong; reload the page and send it again")


def request_lang(request: Request) -> Lang:
    return pick_lang(request.cookies.get(LANG_COOKIE))


def cookie_path(request: Request) -> str:
    return str(request.scope.get("root_path") or "/")


def secure_cookies(request: Request) -> bool:
    """Secure cookies whenever the browser speaks TLS (directly or via a trusted proxy), and
    always in production: there a plain-HTTP request is a misconfigured proxy, and a login
    that then fails is better than a session cookie sent in clear."""
    settings: WebSettings = request.app.state.web_settings
    return request.url.scheme == "https" or settings.environment == "production"


@dataclass(frozen=True)
class Page:
    request: Request
    caller: Caller
    session: WebSession
    lang: Lang

    @property
    def database(self) -> Database:
        db: Database = self.request.app.state.database
        return db

    @property
    def settings(self) -> WebSettings:
        settings: WebSettings = self.request.app.state.web_settings
        return settings

    def t(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)


def caller_for(request: Request, session: WebSession) -> Caller:
    return Caller(
        principal=session.principal,
        request_id=getattr(request.state, "request_id", None) or uuid.uuid4().hex,
        client_address=request.client.host if request.client else None,
    )


async def current_page(request: Request) -> Page:
    """The logged-in page context, or :class:`LoginRequired`."""
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    if token:
        database: Database = request.app.state.database
        async with database.transaction() as conn:
            session = await load_session(conn, token)
    if session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return Page(request, caller_for(request, session), session, request_lang(request))


async def current_form_page(request: Request) -> Page:
    """As :func:`current_page`, for POSTs: the session's CSRF token must come with the form."""
    page = await current_page(request)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    sent_value = sent if isinstance(sent, str) else request.headers.get(CSRF_HEADER)
    if not csrf_matches(page.session.csrf_token, sent_value):
        raise CsrfRefused
    return page


PageDep = Annotated[Page, Depends(current_page)]
FormPageDep = Annotated[Page, Depends(current_form_page)]


def local_time(
    value: datetime | str | None, timezone: str = DISPLAY_TIMEZONE, *, with_date: bool = True
) -> str:
    if value is None:
        return NO_VALUE
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = at.astimezone(ZoneInfo(timezone))
    return local.strftime("%d.%m.%Y %H:%M" if with_date else "%H:%M")


def number(value: float | None, digits: int = 0) -> str:
    return NO_VALUE if value is None else f"{value:.{digits}f}"


def render(
    request: Request,
    template: str,
    *,
    page: Page | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = page.lang if page else request_lang(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    values = {
        "page": page,
        "lang": lang,
        "t": partial(translate, lang),
        "principal": page.caller.principal if page else None,
        "csrf_token": page.session.csrf_token if page else None,
        "here": quote(here, safe="/?=&"),
        "local_time": local_time,
        "number": number,
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # personal health data: never cached
    return response
