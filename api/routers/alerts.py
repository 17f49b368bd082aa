"""Alerts: list and filter them; caregivers acknowledge and resolve them.

open -> acknowledged -> resolved (or open -> resolved). Who acted and when is stored on the
alert and in the audit log. Ingest opens alerts; at most one unresolved alert exists per
citizen, metric and level.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field

from api import audit
from api.access import authorize_citizen, citizen_scope
from api.audit import Action
from api.context import Caller, CallerDep, DatabaseDep
from api.db import Connection
from api.errors import Conflict, NotFound
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
from api.problems import CONFLICT, NOT_FOUND
from api.roles import Permission, require
from database.alerts import AlertLevel, AlertType

router = APIRouter(tags=["alerts"])

# Printable text plus tabs and line breaks.
NOTE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
AlertState = Literal["open", "acknowledged", "resolved"]
_COLUMNS = (
    "a.id, a.citizen_id, a.alert_type, a.metric, a.level, a.state, a.reading_id, a.measured_at, a.value, "
    "a.message, a.opened_at, a.acknowledged_at, a.acknowledged_by, a.resolved_at, a.resolved_by, a.note"
)


class AlertOut(BaseModel):
    id: int
    citizen_id: int
    alert_type: AlertType
    metric: str
    level: AlertLevel
    state: AlertState
    reading_id: UUID | None
    measured_at: datetime | None
    value: float | None
    message: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class AlertAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(
        default=None,
        max_length=1000,
        pattern=NOTE_PATTERN,
        description="Optional; replaces the alert's note.",
    )


@router.get(
    "/alerts",
    response_model=AlertPage,
    responses=NOT_FOUND,
    summary="Alerts in the caller's scope, newest first",
)
async def list_alerts(
    *,
    caller: CallerDep,
    database: DatabaseDep,
    citizen_id: IdQuery = None,
    state: Annotated[list[AlertState] | None, Query(description="Repeat for several states.")] = None,
    level: AlertLevel | None = None,
    metric: TextQuery = None,
    start: FromParam = None,
    end: ToParam = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> AlertPage:
    if citizen_id is None:  # with a citizen named, authorize_citizen below checks (and audits)
        require(caller.principal, Permission.CLINICAL_READ)
    scope, params = citizen_scope(caller)
    conditions: list[sql.Composable] = [scope]
    filters: dict[str, Any] = {"state": state, "level": level, "metric": metric}
    for name in ("level", "metric"):
        if filters[name] is not None:
            conditions.append(sql.SQL("a.{} = {}").format(sql.Identifier(name), sql.Placeholder(name)))
            params[name] = filters[name]
    if state:
        conditions.append(sql.SQL("a.state = ANY(%(state)s)"))
        params["state"] = list(state)
    if start is not None:
        conditions.append(sql.SQL("a.opened_at >= %(start)s"))
        params["start"] = start
    if end is not None:
        conditions.append(sql.SQL("a.opened_at < %(end)s"))
        params["end"] = end
    if cursor:
        params["c_at"], params["c_id"] = decode_cursor(cursor, CURSOR_TIME, CURSOR_ID)
        conditions.append(sql.SQL("(a.opened_at, a.id) < (%(c_at)s, %(c_id)s)"))
    params["limit"] = limit + 1
    async with database.transaction() as conn:
        if citizen_id is not None:
            # Name the citizen and you get a precise answer: 404, or 403 (audited) outside your scope.
            await authorize_citizen(
                conn, caller, citizen_id, Permission.CLINICAL_READ, action=Action.READ, resource="alerts"
            )
            conditions.append(sql.SQL("a.citizen_id = %(citizen_id)s"))
            params["citizen_id"] = citizen_id
        query = sql.SQL(
            "SELECT {} FROM alerts a JOIN citizens c ON c.id = a.citizen_id WHERE {} "
            "ORDER BY a.opened_at DESC, a.id DESC LIMIT %(limit)s"
        ).format(sql.SQL(_COLUMNS), sql.SQL(" AND ").join(conditions))
        rows = await (await conn.execute(query, params)).fetchall()
        page = rows[:limit]
        await audit.record(
            conn,
            caller,
            Action.READ,
            "alerts",
            citizen_id=citizen_id,
            citizen_ids=[r["citizen_id"] for r in page],
            details={k: v for k, v in filters.items() if v is not None},
        )
    return AlertPage(
        items=[AlertOut(**r) for r in page],
        next_cursor=encode_cursor(page[-1]["opened_at"], page[-1]["id"]) if len(rows) > limit else None,
    )


async def _authorized_alert(
    conn: Connection,
    caller: Caller,
    alert_id: int,
    permission: Permission,
    action: Action,
    *,
    lock: bool = False,
) -> dict[str, Any]:
    query = f"SELECT {_COLUMNS} FROM alerts a WHERE a.id = %s" + (" FOR UPDATE" if lock else "")
    row = await (await conn.execute(query, (alert_id,))).fetchone()
    if row is None:
        raise NotFound("alert", alert_id)
    await authorize_citizen(
        conn, caller, row["citizen_id"], permission, action=action, resource=f"alerts/{alert_id}"
    )
    return row


@router.get("/alerts/{alert_id}", response_model=AlertOut, responses=NOT_FOUND, summary="One alert")
async def get_alert(alert_id: IdPath, caller: CallerDep, database: DatabaseDep) -> AlertOut:
    async with database.transaction() as conn:
        row = await _authorized_alert(conn, caller, alert_id, Permission.CLINICAL_READ, Action.READ)
        await audit.record(conn, caller, Action.READ, f"alerts/{alert_id}", citizen_id=row["citizen_id"])
    return AlertOut(**row)


async def _transition(
    database: DatabaseDep, caller: Caller, alert_id: int, body: AlertAction, action: Action
) -> AlertOut:
    async with database.transaction() as conn:
        row = await _authorized_alert(conn, caller, alert_id, Permission.ALERTS_ACT, action, lock=True)
        if row["state"] == "resolved":
            raise Conflict(
                f"alert {alert_id} was already resolved by {row['resolved_by']} at {row['resolved_at']}"
            )
        if action is Action.ACKNOWLEDGE:
            if row["state"] == "acknowledged":
                raise Conflict(
                    f"alert {alert_id} was already acknowledged by {row['acknowledged_by']} "
                    f"at {row['acknowledged_at']}"
                )
            update = (
                "state = 'acknowledged', acknowledged_at = now(), acknowledged_by = %(sub)s, "
                "note = coalesce(%(note)s, note)"
            )
        else:
            update = (
                "state = 'resolved', resolved_at = now(), resolved_by = %(sub)s, "
                "note = coalesce(%(note)s, note)"
            )
        updated = await (
            await conn.execute(
                sql.SQL("UPDATE alerts a SET {} WHERE a.id = %(id)s RETURNING {}").format(
                    sql.SQL(update), sql.SQL(_COLUMNS)
                ),
                {"sub": caller.principal.sub, "note": body.note, "id": alert_id},
            )
        ).fetchone()
        assert updated is not None  # noqa: S101 - the row is locked by this transaction
        await audit.record(
            conn,
            caller,
            action,
            f"alerts/{alert_id}",
            citizen_id=row["citizen_id"],
            details={"from_state": row["state"]},
        )
    return AlertOut(**updated)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Acknowledge an open alert (caregiver)",
)
async def acknowledge_alert(
    alert_id: IdPath, caller: CallerDep, database: DatabaseDep, body: AlertAction | None = None
) -> AlertOut:
    return await _transition(database, caller, alert_id, body or AlertAction(), Action.ACKNOWLEDGE)


@router.post(
    "/alerts/{alert_id}/resolve",
    response_model=AlertOut,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Resolve an open or acknowledged alert (caregiver)",
)
async def resolve_alert(
    alert_id: IdPath, caller: CallerDep, database: DatabaseDep, body: AlertAction | None = None
) -> AlertOut:
    return await _transition(database, caller, alert_id, body or AlertAction(), Action.RESOLVE)
