"""Security headers on every response (docs/api.md, "Security headers").

Generic on purpose: the API, its docs page and any web app mounted into the same FastAPI app
get them. A response that sets its own ``Cache-Control`` or ``Content-Security-Policy`` keeps
it (a page with inline styles, a cacheable static asset); everything else gets the strict
default. HSTS is sent only over TLS: the request came in as https (uvicorn, directly or from a
trusted proxy's X-Forwarded-Proto), or the configured public base URL is https.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Health data must not stay in browser or proxy caches (a shared municipal PC).
NO_STORE = "no-store"
ALWAYS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # URLs carry citizen ids
    "X-Frame-Options": "DENY",  # older browsers; CSP frame-ancestors for the rest
}
# JSON and other data: nothing may load from it, nothing may frame it.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# HTML pages (a web app under /app): same-origin scripts, styles and images only.
HTML_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    """Pure ASGI: adds the headers to ``http.response.start`` without buffering the body."""

    def __init__(self, app: ASGIApp, *, hsts_max_age_s: int, public_base_url: str | None) -> None:
        self.app = app
        self._hsts = f"max-age={hsts_max_age_s}" if hsts_max_age_s > 0 else None
        self._public_tls = bool(public_base_url and public_base_url.lower().startswith("https://"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = self._public_tls or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers[name] = value
                headers.setdefault("Cache-Control", NO_STORE)
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("Content-Security-Policy", HTML_POLICY if html else DATA_POLICY)
                if tls and self._hsts:
                    headers["Strict-Transport-Security"] = self._hsts
            await send(message)

        await self.app(scope, receive, send_with_headers)


def inline_script_policy(html: str, *, script_origin: str, image_origin: str) -> str:
    """A CSP for a page of fixed inline scripts from a CDN (Swagger UI): each inline script by
    its hash (CSP Level 2, 'hash-source'), never 'unsafe-inline'."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    )
    return (
        f"default-src 'none'; script-src {script_origin} {hashes}; style-src {script_origin}; "
        f"img-src 'self' data: {image_origin}; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
