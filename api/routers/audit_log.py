"""The audit log, read back: a citizen's view of who accessed their data, and the admin query.

Danish law gives citizens the right to see who looked at their health data; the access log
shows every audited request about them, including lists that included them and refused
attempts. Reading the log is itself audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from api import audit
from api.access import authorize_citizen
from api.audit import Action
from api.context import CallerDep, DatabaseDep
from api.pagination import (
    CURSOR_ID,
    CURSOR_TIME,
    CursorParam,
    FromParam,
    IdPath,
    IdQuery,
    Limit,
    TextQuery,
    ToParam,
    decode_cursor,
    encode_cursor,
)
from api.problems import NOT_FOUND
from api.roles import Permission, require

router = APIRouter(tags=["audit"])


class AccessEntry(BaseModel):
    """One access to a citizen's data, as the citizen sees it."""

    at: datetime
    actor: str
    role: str
    action: str
    resource: str
    outcome: str


class AccessLog(BaseModel):
    citizen_id: int
    items: list[AccessEntry]
    next_cursor: str | None


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    citizen_id: int | None
    resource: str
    request_id: str | None
    client_address: str | None
    outcome: str
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None


def _window(
    conditions: list[sql.Composable],
    params: dict[str, Any],
    start: datetime | None,
    end: datetime | None,
    cursor: str | None,
) -> None:
    if start is not None:
        conditions.append(sql.SQL("l.at >= %(start)s"))
        params["start"] = start
    if end is not None:
        conditions.append(sql.SQL("l.at < %(end)s"))
        params["end"] = end
    if cursor:
        params["c_at"], params["c_id"] = decode_cursor(cursor, CURSOR_TIME, CURSOR_ID)
        conditions.append(sql.SQL("(l.at, l.id) < (%(c_at)s, %(c_id)s)"))


@router.get(
    "/citizens/{citizen_id}/access-log",
    response_model=AccessLog,
    responses=NOT_FOUND,
    summary="Who accessed this citizen's data (the citizen themselves, or an admin)",
)
async def access_log(
    *,
    citizen_id: IdPath,
    caller: CallerDep,
    database: DatabaseDep,
    start: FromParam = None,
    end: ToParam = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> AccessLog:
    resource = f"citizens/{citizen_id}/access-log"
    params: dict[str, Any] = {"citizen_id": citizen_id, "as_list": Jsonb([citizen_id]), "limit": limit + 1}
    conditions: list[sql.Composable] = [
        sql.SQL("(l.citizen_id = %(citizen_id)s OR (l.details -> 'citizen_ids') @> %(as_list)s)")
    ]
    _window(conditions, params, start, end, cursor)
    query = sql.SQL(
        "SELECT l.id, l.at, l.actor, l.role, l.action, l.resource, l.outcome FROM audit_log l WHERE {} "
        "ORDER BY l.at DESC, l.id DESC LIMIT %(limit)s"
    ).format(sql.SQL(" AND ").join(conditions))
    async with database.transaction() as conn:
        await authorize_citizen(
            conn, caller, citizen_id, Permission.ACCESS_LOG_READ, action=Action.READ, resource=resource
        )
        rows = await (await conn.execute(query, params)).fetchall()
        await audit.record(conn, caller, Action.READ, resource, citizen_id=citizen_id)
    page = rows[:limit]
    return AccessLog(
        citizen_id=citizen_id,
        items=[AccessEntry(**r) for r in page],
        next_cursor=encode_cursor(page[-1]["at"], page[-1]["id"]) if len(rows) > limit else None,
    )


@router.get("/audit", response_model=AuditPage, summary="Query the audit log (admin)")
async def query_audit(
    *,
    caller: CallerDep,
    database: DatabaseDep,
    actor: TextQuery = None,
    citizen_id: IdQuery = None,
    action: TextQuery = None,
    outcome: Annotated[Literal["ok", "denied"] | None, Query()] = None,
    start: FromParam = None,
    end: ToParam = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> AuditPage:
    require(caller.principal, Permission.AUDIT_QUERY)
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {"limit": limit + 1}
    for name, value in (("actor", actor), ("action", action), ("outcome", outcome)):
        if value is not None:
            conditions.append(sql.SQL("l.{} = {}").format(sql.Identifier(name), sql.Placeholder(name)))
            params[name] = value
    if citizen_id is not None:
        conditions.append(
            sql.SQL("(l.citizen_id = %(citizen_id)s OR (l.details -> 'citizen_ids') @> %(as_list)s)")
        )
        params.update(citizen_id=citizen_id, as_list=Jsonb([citizen_id]))
    _window(conditions, params, start, end, cursor)
    query = sql.SQL(
        "SELECT l.id, l.at, l.actor, l.role, l.action, l.citizen_id, l.resource, l.request_id, "
        "l.client_address, l.outcome, l.details FROM audit_log l WHERE {} ORDER BY l.at DESC, l.id DESC "
        "LIMIT %(limit)s"
    ).format(sql.SQL(" AND ").join(conditions or [sql.SQL("TRUE")]))
    async with database.transaction() as conn:
        rows = await (await conn.execute(query, params)).fetchall()
        page = rows[:limit]
        filters = {"actor": actor, "action": action, "outcome": outcome}
        await audit.record(
            conn,
            caller,
            Action.READ,
            "audit",
            citizen_id=citizen_id,
            details={k: v for k, v in filters.items() if v is not None},
        )
    return AuditPage(
        items=[AuditEntry(**r) for r in page],
        next_cursor=encode_cursor(page[-1]["at"], page[-1]["id"]) if len(rows) > limit else None,
    )
