"""The audit trail: one ``audit_log`` row per request that reads or changes citizen data.

Handlers call :func:`record` on the connection of their own transaction, so the row
commits with the change (or with the read, before the response leaves). A request about
one citizen sets ``citizen_id``; a list that spans citizens sets ``details.citizen_ids``, so
a citizen's own view (``GET /citizens/{id}/access-log``) finds both. Requests refused for
scope are recorded too, with ``outcome = 'denied'``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from psycopg.types.json import Jsonb

from api.context import Caller
from api.db import Connection


class Action(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"  # reports and FHIR: data leaving the system in a portable form
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    ASSIGN = "assign"
    END = "end"


async def record(
    conn: Connection,
    caller: Caller,
    action: Action | str,
    resource: str,
    *,
    citizen_id: int | None = None,
    citizen_ids: Iterable[int] | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> None:
    payload = dict(details or {})
    if citizen_ids is not None:
        payload["citizen_ids"] = sorted(set(citizen_ids))
    await conn.execute(
        "INSERT INTO audit_log (actor, role, action, citizen_id, resource, request_id, "
        "client_address, outcome, details) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            caller.principal.sub,
            caller.principal.role.value,
            str(action),
            citizen_id,
            resource,
            caller.request_id,
            caller.client_address,
            outcome,
            Jsonb(payload) if payload else None,
        ),
    )


async def record_denied(
    conn: Connection, caller: Caller, action: str, resource: str, citizen_id: int
) -> None:
    """A refused request for a citizen's data, committed at once: the 403 that follows rolls back.

    Call it before the request has changed anything (authorization comes first).
    """
    await record(conn, caller, action, resource, citizen_id=citizen_id, outcome="denied")
    await conn.commit()
