"""Keyset (cursor) pagination and the shared query parameter types.

A cursor is the sort key of the last row of a page, base64url-encoded JSON. The next page
asks for rows strictly after it, so pages stay stable while new rows arrive and a deep page
costs no more than the first.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Path, Query
from pydantic import AwareDatetime, StringConstraints

from api.errors import InvalidRequest

MAX_BIGINT = 2**63 - 1
# Printable text only: PostgreSQL text cannot hold NUL, and control characters in names
# or teams are always a mistake.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

IdPath = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="Database id.")]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_BIGINT)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
CursorParam = Annotated[
    str | None,
    Query(max_length=300, pattern=r"^[A-Za-z0-9_-]*$", description="next_cursor of the previous page."),
]
FromParam = Annotated[
    AwareDatetime | None, Query(alias="from", description="Inclusive start, with a UTC offset.")
]
ToParam = Annotated[AwareDatetime | None, Query(alias="to", description="Exclusive end, with a UTC offset.")]
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE)]
TextQuery = Annotated[str | None, Query(min_length=1, max_length=100, pattern=PRINTABLE)]

_INVALID = "the cursor is not one this API handed out; start again without it"


def encode_cursor(*parts: object) -> str:
    values = [p.isoformat() if isinstance(p, datetime) else str(p) for p in parts]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive time in cursor")
    return parsed


def _bigint(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,19}", value) or int(value) > MAX_BIGINT:
        raise ValueError("not an id")
    return int(value)


CURSOR_TIME: Callable[[str], Any] = _aware
CURSOR_ID: Callable[[str], Any] = _bigint
CURSOR_UUID: Callable[[str], Any] = UUID


def decode_cursor(cursor: str, *shape: Callable[[str], Any]) -> list[Any]:
    """The sort key a cursor stands for, converted part by part; 422 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        return [convert(str(value)) for convert, value in zip(shape, list(values), strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise InvalidRequest(_INVALID) from None
