"""Device assignments: which citizen owns which device (and user slot) over which period.

The database forbids overlapping periods for one device and slot (exclusion constraint
``device_assignments_no_overlap``); an overlap is answered with 409 naming the assignment in
the way. Ending an assignment early also hands its readings after the end back to the
unassigned list, because a reading belongs to the assignment that covers its time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from psycopg import errors as pg
from psycopg import sql
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api import audit
from api.access import authorize_citizen, citizen_scope
from api.audit import Action
from api.context import CallerDep, DatabaseDep
from api.db import Connection
from api.errors import Conflict, InvalidRequest, NotFound
from api.pagination import (
    CURSOR_ID,
    MAX_BIGINT,
    CursorParam,
    IdPath,
    IdQuery,
    Limit,
    decode_cursor,
    encode_cursor,
)
from api.problems import CONFLICT, NOT_FOUND
from api.roles import Permission, require

router = APIRouter(tags=["assignments"])

OVERLAP_CONSTRAINT = "device_assignments_no_overlap"
_COLUMNS = (
    "a.id, a.device_id, d.address AS device_address, a.user_slot, a.citizen_id, "
    "lower(a.valid) AS valid_from, "
    "upper(a.valid) AS valid_to, a.created_by, a.created_at, a.ended_by, a.ended_at, "
    "(a.valid @> now()) AS active"
)


class AssignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: int = Field(ge=1, le=MAX_BIGINT)
    user_slot: int = Field(default=1, ge=0, le=255, description="Devices without user ids use slot 1.")
    citizen_id: int = Field(ge=1, le=MAX_BIGINT)
    valid_from: AwareDatetime | None = Field(default=None, description="Default: now.")
    valid_to: AwareDatetime | None = Field(default=None, description="Default: open-ended.")

    @model_validator(mode="after")
    def _ordered(self) -> AssignmentCreate:
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be later than valid_from")
        return self


class AssignmentEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ended_at: AwareDatetime | None = Field(default=None, description="Default: now.")


class AssignmentOut(BaseModel):
    id: int
    device_id: int
    device_address: str
    user_slot: int
    citizen_id: int
    valid_from: datetime
    valid_to: datetime | None
    created_by: str
    created_at: datetime
    ended_by: str | None
    ended_at: datetime | None
    active: bool = Field(description="The period covers the present moment.")


class AssignmentEnded(AssignmentOut):
    readings_unassigned: int = Field(description="Readings after the new end, handed back as unassigned.")


class AssignmentPage(BaseModel):
    items: list[AssignmentOut]
    next_cursor: str | None


async def _fetch(conn: Connection, assignment_id: int, *, lock: bool = False) -> dict[str, Any]:
    query = (
        f"SELECT {_COLUMNS} FROM device_assignments a JOIN devices d ON d.id = a.device_id WHERE a.id = %s"
    )
    row = await (
        await conn.execute(query + (" FOR UPDATE OF a" if lock else ""), (assignment_id,))
    ).fetchone()
    if row is None:
        raise NotFound("assignment", assignment_id)
    return row


@router.get("/assignments", response_model=AssignmentPage, summary="Assignments in the caller's scope")
async def list_assignments(
    *,
    caller: CallerDep,
    database: DatabaseDep,
    citizen_id: IdQuery = None,
    device_id: IdQuery = None,
    active: Annotated[
        bool | None, Query(description="Only those in force now (true) or not (false).")
    ] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> AssignmentPage:
    if citizen_id is None:  # with a citizen named, authorize_citizen below checks (and audits)
        require(caller.principal, Permission.ASSIGNMENTS_READ)
    scope, params = citizen_scope(caller)
    conditions: list[sql.Composable] = [scope]
    for name, value in (("citizen_id", citizen_id), ("device_id", device_id)):
        if value is not None:
            conditions.append(sql.SQL("a.{} = {}").format(sql.Identifier(name), sql.Placeholder(name)))
            params[name] = value
    if active is not None:
        conditions.append(sql.SQL("(a.valid @> now()) = %(active)s"))
        params["active"] = active
    if cursor:
        (params["after"],) = decode_cursor(cursor, CURSOR_ID)
        conditions.append(sql.SQL("a.id > %(after)s"))
    params["limit"] = limit + 1
    query = sql.SQL(
        "SELECT {} FROM device_assignments a JOIN devices d ON d.id = a.device_id "
        "JOIN citizens c ON c.id = a.citizen_id WHERE {} ORDER BY a.id LIMIT %(limit)s"
    ).format(sql.SQL(_COLUMNS), sql.SQL(" AND ").join(conditions))
    async with database.transaction() as conn:
        if citizen_id is not None:
            await authorize_citizen(
                conn,
                caller,
                citizen_id,
                Permission.ASSIGNMENTS_READ,
                action=Action.READ,
                resource="assignments",
            )
        rows = await (await conn.execute(query, params)).fetchall()
        page = rows[:limit]
        await audit.record(
            conn, caller, Action.READ, "assignments", citizen_ids=[r["citizen_id"] for r in page]
        )
    return AssignmentPage(
        items=[AssignmentOut(**r) for r in page],
        next_cursor=encode_cursor(page[-1]["id"]) if len(rows) > limit else None,
    )


@router.get(
    "/assignments/{assignment_id}",
    response_model=AssignmentOut,
    responses=NOT_FOUND,
    summary="One assignment",
)
async def get_assignment(assignment_id: IdPath, caller: CallerDep, database: DatabaseDep) -> AssignmentOut:
    resource = f"assignments/{assignment_id}"
    async with database.transaction() as conn:
        row = await _fetch(conn, assignment_id)
        await authorize_citizen(
            conn,
            caller,
            row["citizen_id"],
            Permission.ASSIGNMENTS_READ,
            action=Action.READ,
            resource=resource,
        )
        await audit.record(conn, caller, Action.READ, resource, citizen_id=row["citizen_id"])
    return AssignmentOut(**row)


@router.post(
    "/assignments",
    response_model=AssignmentOut,
    status_code=status.HTTP_201_CREATED,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Assign a device (user slot) to a citizen from a time on",
)
async def create_assignment(
    body: AssignmentCreate, response: Response, caller: CallerDep, database: DatabaseDep
) -> AssignmentOut:
    valid_from = body.valid_from or datetime.now(UTC)
    if body.valid_to is not None and body.valid_to <= valid_from:
        raise InvalidRequest("valid_to must be later than valid_from (default: now)")
    async with database.transaction() as conn:
        await authorize_citizen(
            conn,
            caller,
            body.citizen_id,
            Permission.ASSIGNMENTS_WRITE,
            action=Action.CREATE,
            resource="assignments",
        )
        device = await (
            await conn.execute("SELECT id FROM devices WHERE id = %s", (body.device_id,))
        ).fetchone()
        if device is None:
            raise NotFound("device", body.device_id)
        try:
            async with conn.transaction():  # a savepoint: the conflict lookup needs a live transaction
                created = await (
                    await conn.execute(
                        "INSERT INTO device_assignments "
                        "(device_id, user_slot, citizen_id, valid, created_by) "
                        "VALUES (%s, %s, %s, tstzrange(%s, %s), %s) RETURNING id",
                        (
                            body.device_id,
                            body.user_slot,
                            body.citizen_id,
                            valid_from,
                            body.valid_to,
                            caller.principal.sub,
                        ),
                    )
                ).fetchone()
        except pg.ExclusionViolation:
            raise await _overlap(conn, body, valid_from) from None
        assert created is not None  # noqa: S101 - INSERT ... RETURNING
        row = await _fetch(conn, created["id"])
        await audit.record(
            conn,
            caller,
            Action.CREATE,
            f"assignments/{row['id']}",
            citizen_id=body.citizen_id,
            details={"device_id": body.device_id, "user_slot": body.user_slot},
        )
    response.headers["Location"] = f"/api/v1/assignments/{row['id']}"
    return AssignmentOut(**row)


async def _overlap(conn: Connection, body: AssignmentCreate, valid_from: datetime) -> Conflict:
    rows = await (
        await conn.execute(
            "SELECT id, lower(valid) AS valid_from, upper(valid) AS valid_to FROM device_assignments "
            "WHERE device_id = %s AND user_slot = %s AND valid && tstzrange(%s, %s) ORDER BY lower(valid)",
            (body.device_id, body.user_slot, valid_from, body.valid_to),
        )
    ).fetchall()
    described = "; ".join(
        f"assignment {r['id']} from {r['valid_from']:%Y-%m-%d %H:%M} UTC "
        f"{'to ' + format(r['valid_to'], '%Y-%m-%d %H:%M') + ' UTC' if r['valid_to'] else 'with no end'}"
        for r in rows
    )
    return Conflict(
        f"device {body.device_id} user slot {body.user_slot} is already assigned in that period "
        f"({described}); "
        "end that assignment first or choose another period",
        constraint=OVERLAP_CONSTRAINT,
        conflicting_assignments=[r["id"] for r in rows],
    )


@router.post(
    "/assignments/{assignment_id}/end",
    response_model=AssignmentEnded,
    responses={**NOT_FOUND, **CONFLICT},
    summary="End an assignment; readings after the end become unassigned again",
)
async def end_assignment(
    assignment_id: IdPath, body: AssignmentEnd, caller: CallerDep, database: DatabaseDep
) -> AssignmentEnded:
    resource = f"assignments/{assignment_id}"
    ended_at = body.ended_at or datetime.now(UTC)
    async with database.transaction() as conn:
        row = await _fetch(conn, assignment_id, lock=True)
        citizen_id = row["citizen_id"]
        await authorize_citizen(
            conn, caller, citizen_id, Permission.ASSIGNMENTS_WRITE, action=Action.END, resource=resource
        )
        if row["ended_at"] is not None:
            raise Conflict(
                f"assignment {assignment_id} was already ended by {row['ended_by']} at {row['ended_at']}"
            )
        if ended_at <= row["valid_from"]:
            raise InvalidRequest(
                f"ended_at must be later than the start of the assignment ({row['valid_from']})"
            )
        if row["valid_to"] is not None and ended_at >= row["valid_to"]:
            raise Conflict(
                f"assignment {assignment_id} already ends at {row['valid_to']}; ended_at must be earlier"
            )
        await conn.execute(
            "UPDATE device_assignments "
            "SET valid = tstzrange(lower(valid), %s), ended_by = %s, ended_at = now() "
            "WHERE id = %s",
            (ended_at, caller.principal.sub, assignment_id),
        )
        detached = await conn.execute(
            "UPDATE readings SET citizen_id = NULL, assignment_id = NULL "
            "WHERE assignment_id = %s AND measured_at >= %s",
            (assignment_id, ended_at),
        )
        updated = await _fetch(conn, assignment_id)
        await audit.record(
            conn,
            caller,
            Action.END,
            resource,
            citizen_id=citizen_id,
            details={"ended_at": ended_at.isoformat(), "readings_unassigned": detached.rowcount},
        )
    return AssignmentEnded(**updated, readings_unassigned=detached.rowcount)
