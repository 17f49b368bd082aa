"""Typed errors of the API. Each maps to one RFC 9457 problem (api/problems.py).

Handlers raise these with the data that explains them; the problem renderer turns the class
into status, type and title, and the message into ``detail``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from homevitals.errors import HomevitalsError


class ApiError(HomevitalsError):
    """An error the API answers with a problem document."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        self.detail = detail
        self.extensions = extensions
        self.headers: dict[str, str] | None = None
        super().__init__(detail)


class NotAuthenticated(ApiError):
    """No bearer token, or one that does not verify (401, with WWW-Authenticate)."""

    status = 401
    slug = "not-authenticated"
    title = "Authentication required"

    def __init__(self, detail: str, *, token_error: str | None = "invalid_token") -> None:  # noqa: S107
        # RFC 6750: a request without credentials gets no error code, a bad token "invalid_token".
        self.token_error = token_error
        super().__init__(detail)


class Forbidden(ApiError):
    """The caller's role or scope does not allow this (403)."""

    status = 403
    slug = "forbidden"
    title = "Not allowed"


class CitizenAccessDenied(Forbidden):
    """A request for one citizen's data outside the caller's role or scope (audited 'denied')."""

    def __init__(self, detail: str, *, citizen_id: int) -> None:
        self.citizen_id = citizen_id
        super().__init__(detail, citizen_id=citizen_id)


class NotFound(ApiError):
    status = 404
    slug = "not-found"
    title = "Not found"

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key} does not exist", resource=kind)


class Conflict(ApiError):
    """The request contradicts the stored state: an overlap, a duplicate, a finished alert."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class InvalidRequest(ApiError):
    """Well-formed but unusable input that the schema cannot express (a bad cursor)."""

    status = 422
    slug = "invalid-request"
    title = "Invalid request"


class ServiceUnavailable(ApiError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"


class BrokerUnavailable(ServiceUnavailable):
    """The broker's admin API did not do what was asked (down, refused, timed out)."""

    slug = "broker-unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": "10"}


class EnrollmentRefused(ApiError):
    """A redeem call that cannot be served; each subclass says why, and what to do."""

    status = 409
    slug = "enrollment-refused"
    title = "Enrollment code refused"


class UnknownCode(EnrollmentRefused):
    status = 404
    slug = "enrollment-code-unknown"
    title = "Unknown enrollment code"


class CodeAlreadyUsed(EnrollmentRefused):
    status = 409
    slug = "enrollment-code-used"
    title = "Enrollment code already used"


class CodeExpired(EnrollmentRefused):
    status = 410
    slug = "enrollment-code-expired"
    title = "Enrollment code expired"


class CodeCancelled(EnrollmentRefused):
    status = 410
    slug = "enrollment-code-cancelled"
    title = "Enrollment code cancelled"


class TooManyAttempts(ApiError):
    """Rate limit of the unauthenticated redeem endpoint (429, with Retry-After)."""

    status = 429
    slug = "too-many-attempts"
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.headers = {"Retry-After": str(retry_after_s)}
