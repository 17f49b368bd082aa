"""Per-request context: request id, client address, the verified caller.

The request id comes from a well-formed ``X-Request-ID`` header (a proxy's) or is made
here; it is echoed in the response, bound to every log line and written to the audit log.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import TokenVerifier
from api.db import Database
from api.errors import NotAuthenticated
from api.roles import Principal

log = structlog.get_logger()

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead): request id, one log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, from where: everything an audit row needs besides what was touched."""

    principal: Principal
    request_id: str
    client_address: str | None


_bearer = HTTPBearer(auto_error=False, description="A JWT; see docs/api.md, 'Authentication'.")


async def database(request: Request) -> Database:  # async: a sync dependency would cost a thread hop
    db: Database = request.app.state.database
    return db


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The verified caller, or 401 with a WWW-Authenticate challenge."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise NotAuthenticated(
            "send 'Authorization: Bearer <token>' (homevitals api token mints one for development)",
            token_error=None,
        )
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(credentials.credentials)
    structlog.contextvars.bind_contextvars(sub=principal.sub, role=principal.role.value)
    return Caller(
        principal=principal,
        request_id=request.state.request_id,
        client_address=request.client.host if request.client else None,
    )


CallerDep = Annotated[Caller, Depends(caller)]
DatabaseDep = Annotated[Database, Depends(database)]
