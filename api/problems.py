"""RFC 9457 problem details for every error the API returns.

Every 4xx/5xx body is ``application/problem+json``: ``type`` (a URI naming the problem
kind, listed in docs/api.md), ``title``, ``status``, ``detail`` (what went wrong and what to
do), ``instance`` (the request path) and ``request_id`` (quote it to the operators).
Validation errors add ``errors``: one entry per offending field.
"""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import errors as pg
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError, NotAuthenticated

log = structlog.get_logger()

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://homevitals.dk/problems/"
REALM = "homevitals"


class FieldError(BaseModel):
    location: str = Field(description="Where: 'query.limit', 'body.thresholds.0.metric', ...")
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI naming the kind of problem (docs/api.md, 'Errors').")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **extensions,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def api_error_response(request: Request, error: ApiError) -> JSONResponse:
    headers = dict(error.headers) if error.headers else None
    if isinstance(error, NotAuthenticated):
        # RFC 6750 section 3: say which scheme, and why the token was refused.
        challenge = f'Bearer realm="{REALM}"'
        if error.token_error:
            description = error.detail.replace('"', "'")
            challenge += f', error="{error.token_error}", error_description="{description}"'
        headers = {"WWW-Authenticate": challenge}
    return problem_response(
        request,
        status=error.status,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        headers=headers,
        **error.extensions,
    )


async def _on_api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)  # noqa: S101 - registered for ApiError only
    return api_error_response(request, error)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101
    errors = [
        FieldError(
            location=_location(e.get("loc", ())), message=str(e.get("msg", "")), type=str(e.get("type", ""))
        )
        for e in error.errors()
    ]
    summary = "; ".join(f"{e.location}: {e.message}" for e in errors[:5])
    return problem_response(
        request,
        status=422,
        slug="validation-error",
        title="Invalid request",
        detail=f"the request does not match the API description: {summary}",
        errors=[e.model_dump() for e in errors],
    )


_HTTP_SLUGS = {
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    415: "unsupported-media-type",
}


async def _on_http_exception(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)  # noqa: S101
    detail = str(error.detail)
    if error.status_code == 404 and detail == "Not Found":
        detail = f"there is no resource at {request.url.path}; see /docs for the endpoints"
    elif error.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(
        request,
        status=error.status_code,
        slug=_HTTP_SLUGS.get(error.status_code, "http-error"),
        title=_title(error.status_code),
        detail=detail,
        headers=dict(error.headers) if error.headers else None,
    )


def _title(status: int) -> str:
    from http import HTTPStatus  # noqa: PLC0415 - only on the error path

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _on_integrity_error(request: Request, error: Exception) -> JSONResponse:
    """A database constraint caught what the handlers did not: say which one."""
    assert isinstance(error, psycopg.Error)  # noqa: S101
    constraint = error.diag.constraint_name or "a constraint"
    if isinstance(error, pg.CheckViolation | pg.NotNullViolation | pg.InvalidTextRepresentation):
        status, slug, title = 422, "invalid-request", "Invalid request"
    else:
        status, slug, title = 409, "conflict", "Conflict"
    detail = error.diag.message_detail or error.diag.message_primary or str(error)
    return problem_response(
        request,
        status=status,
        slug=slug,
        title=title,
        detail=f"violates {constraint}: {detail}",
        constraint=constraint,
    )


async def _on_database_unavailable(request: Request, error: Exception) -> JSONResponse:
    log.error("database_unavailable", error=str(error), path=request.url.path)
    return problem_response(
        request,
        status=503,
        slug="database-unavailable",
        title="Service unavailable",
        detail="the database does not answer; retry later (GET /readyz shows when it is back)",
        headers={"Retry-After": "5"},
    )


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("unhandled_error", path=request.url.path, error_type=type(error).__name__, exc_info=error)
    return problem_response(
        request,
        status=500,
        slug="internal-error",
        title="Internal Server Error",
        detail="an unexpected error occurred; quote the request_id to the operators",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(pg.IntegrityError, _on_integrity_error)
    app.add_exception_handler(pg.DataError, _on_integrity_error)
    app.add_exception_handler(PoolTimeout, _on_database_unavailable)
    app.add_exception_handler(psycopg.OperationalError, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


def _problem_response_doc(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response_doc("The request body cannot be parsed (not JSON, not UTF-8)."),
    401: _problem_response_doc("Missing or invalid bearer token (see WWW-Authenticate)."),
    403: _problem_response_doc("The caller's role or scope does not allow this."),
    422: _problem_response_doc("The request does not match the API description."),
    503: _problem_response_doc("The database does not answer."),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem_response_doc("No such resource.")}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _problem_response_doc("Conflicts with the stored state.")}


def problems_as_problem_json(openapi: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents error models under the route's media type (JSON, HTML, FHIR JSON);
    every error is application/problem+json, whatever the route returns when it succeeds."""
    for path_item in openapi.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if str(status)[0] in "45" and content:
                    schemas = [c["schema"] for c in content.values() if "schema" in c]
                    schema: dict[str, Any] = schemas[0] if schemas else {}
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": schema}}
    return openapi
