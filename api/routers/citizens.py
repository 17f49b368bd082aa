"""Citizens: CRUD for admins; everyone else lists and reads the citizens in their scope."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Response, status
from psycopg import errors as pg
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api import audit
from api.access import CITIZEN_COLUMNS, authorize_citizen, citizen_scope
from api.audit import Action
from api.context import Caller, CallerDep, DatabaseDep
from api.errors import Conflict, InvalidRequest
from api.pagination import (
    CURSOR_ID,
    CursorParam,
    IdPath,
    Limit,
    Text100,
    TextQuery,
    decode_cursor,
    encode_cursor,
)
from api.problems import CONFLICT, NOT_FOUND
from api.roles import Permission, require

router = APIRouter(tags=["citizens"])

CPR_PATTERN = r"^[0-9]{6}-?[0-9]{4}$"


def _valid_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Copenhagen") from None
    return value


def _normalise_cpr(value: str | None) -> str | None:
    # Stored as 10 digits, the form DK-core's CPR identifier uses.
    return None if value is None else value.replace("-", "")


class CitizenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpr: str | None = Field(default=None, pattern=CPR_PATTERN, description="DDMMYY-SSSS or 10 digits.")
    given_name: Text100
    family_name: Text100
    birth_date: date | None = None
    care_team: Text100
    timezone: str = Field(default="Europe/Copenhagen", max_length=64, description="IANA time zone.")
    active: bool = True

    _zone = field_validator("timezone")(_valid_zone)
    _cpr = field_validator("cpr")(_normalise_cpr)


class CitizenUpdate(BaseModel):
    """Only the fields sent change; send ``cpr`` or ``birth_date`` as null to clear them."""

    model_config = ConfigDict(extra="forbid")

    cpr: str | None = Field(default=None, pattern=CPR_PATTERN)
    given_name: Text100 | None = None
    family_name: Text100 | None = None
    birth_date: date | None = None
    care_team: Text100 | None = None
    timezone: str | None = Field(default=None, max_length=64)
    active: bool | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _valid_zone(value)

    _cpr = field_validator("cpr")(_normalise_cpr)


class CitizenOut(BaseModel):
    id: int
    cpr: str | None = Field(
        default=None, description="Only for roles that may see CPR numbers (citizen, clinician, admin)."
    )
    given_name: str
    family_name: str
    birth_date: date | None
    care_team: str
    timezone: str
    active: bool
    created_at: datetime
    updated_at: datetime


class CitizenPage(BaseModel):
    items: list[CitizenOut]
    next_cursor: str | None


def citizen_out(row: dict[str, Any], caller: Caller) -> CitizenOut:
    fields = {k: v for k, v in row.items() if k in CitizenOut.model_fields}
    if not caller.principal.can(Permission.CPR_READ):
        fields.pop("cpr", None)  # not null: absent, so "no CPR" and "not for you" differ
    return CitizenOut(**fields)


@router.get(
    "/citizens",
    response_model=CitizenPage,
    response_model_exclude_unset=True,
    summary="Citizens in the caller's scope",
)
async def list_citizens(
    *,
    caller: CallerDep,
    database: DatabaseDep,
    care_team: TextQuery = None,
    active: Annotated[bool | None, Query()] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> CitizenPage:
    require(caller.principal, Permission.CITIZENS_READ)
    scope, params = citizen_scope(caller)
    conditions: list[sql.Composable] = [scope]
    if care_team is not None:
        conditions.append(sql.SQL("c.care_team = %(care_team)s"))
        params["care_team"] = care_team
    if active is not None:
        conditions.append(sql.SQL("c.active = %(active)s"))
        params["active"] = active
    if cursor:
        (params["after"],) = decode_cursor(cursor, CURSOR_ID)
        conditions.append(sql.SQL("c.id > %(after)s"))
    params["limit"] = limit + 1
    query = sql.SQL("SELECT {} FROM citizens c WHERE {} ORDER BY c.id LIMIT %(limit)s").format(
        sql.SQL(CITIZEN_COLUMNS), sql.SQL(" AND ").join(conditions)
    )
    filters = {k: v for k, v in {"care_team": care_team, "active": active}.items() if v is not None}
    async with database.transaction() as conn:
        rows = await (await conn.execute(query, params)).fetchall()
        page = rows[:limit]
        await audit.record(
            conn, caller, Action.READ, "citizens", citizen_ids=[r["id"] for r in page], details=filters
        )
    return CitizenPage(
        items=[citizen_out(r, caller) for r in page],
        next_cursor=encode_cursor(page[-1]["id"]) if len(rows) > limit else None,
    )


@router.post(
    "/citizens",
    response_model=CitizenOut,
    response_model_exclude_unset=True,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Create a citizen (admin)",
)
async def create_citizen(
    body: CitizenCreate, caller: CallerDep, database: DatabaseDep, response: Response
) -> CitizenOut:
    require(caller.principal, Permission.CITIZENS_WRITE)
    async with database.transaction() as conn:
        try:
            cursor = await conn.execute(
                "INSERT INTO citizens "
                "(cpr, given_name, family_name, birth_date, care_team, timezone, active) "
                f"VALUES (%(cpr)s, %(given_name)s, %(family_name)s, %(birth_date)s, %(care_team)s, "
                f"%(timezone)s, %(active)s) RETURNING {CITIZEN_COLUMNS}",
                body.model_dump(),
            )
        except pg.UniqueViolation:
            raise Conflict("a citizen with this CPR number already exists") from None
        row = await cursor.fetchone()
        assert row is not None  # noqa: S101 - INSERT ... RETURNING returns the row
        await audit.record(conn, caller, Action.CREATE, f"citizens/{row['id']}", citizen_id=row["id"])
    response.headers["Location"] = f"/api/v1/citizens/{row['id']}"
    return citizen_out(row, caller)


@router.get(
    "/citizens/{citizen_id}",
    response_model=CitizenOut,
    response_model_exclude_unset=True,
    responses=NOT_FOUND,
    summary="One citizen",
)
async def get_citizen(citizen_id: IdPath, caller: CallerDep, database: DatabaseDep) -> CitizenOut:
    resource = f"citizens/{citizen_id}"
    async with database.transaction() as conn:
        row = await authorize_citizen(
            conn, caller, citizen_id, Permission.CITIZENS_READ, action=Action.READ, resource=resource
        )
        await audit.record(conn, caller, Action.READ, resource, citizen_id=citizen_id)
    return citizen_out(row, caller)


@router.patch(
    "/citizens/{citizen_id}",
    response_model=CitizenOut,
    response_model_exclude_unset=True,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Change a citizen (admin)",
)
async def update_citizen(
    citizen_id: IdPath, body: CitizenUpdate, caller: CallerDep, database: DatabaseDep
) -> CitizenOut:
    resource = f"citizens/{citizen_id}"
    changes = body.model_dump(exclude_unset=True)
    for required in ("given_name", "family_name", "care_team", "timezone", "active"):
        if required in changes and changes[required] is None:
            raise InvalidRequest(f"{required} cannot be null; leave it out to keep it")
    async with database.transaction() as conn:
        row = await authorize_citizen(
            conn, caller, citizen_id, Permission.CITIZENS_WRITE, action=Action.UPDATE, resource=resource
        )
        if changes:
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in changes
            )
            try:
                cursor = await conn.execute(
                    sql.SQL(
                        "UPDATE citizens SET {}, updated_at = now() WHERE id = %(id)s RETURNING {}"
                    ).format(assignments, sql.SQL(CITIZEN_COLUMNS)),
                    {**changes, "id": citizen_id},
                )
            except pg.UniqueViolation:
                raise Conflict("another citizen already has this CPR number") from None
            updated = await cursor.fetchone()
            assert updated is not None  # noqa: S101 - the row was just read under this transaction
            row = updated
        await audit.record(
            conn, caller, Action.UPDATE, resource, citizen_id=citizen_id, details={"fields": sorted(changes)}
        )
    return citizen_out(row, caller)


@router.delete(
    "/citizens/{citizen_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Delete a citizen without health data (admin)",
    description="Citizens with readings, assignments or alerts are kept (health records must be): "
    "set active=false instead. The answer then is 409.",
)
async def delete_citizen(citizen_id: IdPath, caller: CallerDep, database: DatabaseDep) -> Response:
    resource = f"citizens/{citizen_id}"
    async with database.transaction() as conn:
        await authorize_citizen(
            conn, caller, citizen_id, Permission.CITIZENS_WRITE, action=Action.DELETE, resource=resource
        )
        try:
            await conn.execute("DELETE FROM citizens WHERE id = %s", (citizen_id,))
        except pg.ForeignKeyViolation as error:
            table = _referencing_table(error)
            raise Conflict(
                f"citizen {citizen_id} still has {table}; health records are kept: "
                "set active=false (PATCH) instead"
            ) from None
        await audit.record(conn, caller, Action.DELETE, resource, citizen_id=citizen_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _referencing_table(error: pg.ForeignKeyViolation) -> str:
    match = re.search(r'from table "(\w+)"', error.diag.message_detail or "")
    return match.group(1).replace("_", " ") if match else "linked records"
