"""Logging in over plain HTTP (httpx), for the session and CSRF tests and the browser tests."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def dev_login(http: httpx.Client, sub: str) -> httpx.Response:
    page = http.get("/app/login")
    assert page.status_code == 200, page.text
    return http.post("/app/login/dev", data={"sub": sub, "csrf_token": csrf_of(page.text)})
