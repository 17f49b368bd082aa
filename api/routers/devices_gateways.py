"""Devices and gateways: status, last contact and battery; registration by admins.

Admins see every device and gateway. Caregivers see the devices currently assigned to
citizens of their care team (and only those assignments), and the gateways those devices
last reported through, so they know whose monitor needs a battery.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Path, Request, Response, status
from psycopg import errors as pg
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api import audit
from api.access import citizen_scope, deny_indirectly
from api.audit import Action
from api.context import Caller, CallerDep, DatabaseDep
from api.db import Connection
from api.errors import Conflict, Forbidden, NotFound
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
from api.roles import Permission, Role, require, role_refusal
from homevitals.contract.models import ADDRESS_PATTERN, GATEWAY_ID_PATTERN, Kind

router = APIRouter(tags=["devices and gateways"])

GatewayIdPath = Annotated[str, Path(pattern=GATEWAY_ID_PATTERN, description="Gateway id, e.g. gw-0042.")]


class CurrentAssignment(BaseModel):
    assignment_id: int
    citizen_id: int
    user_slot: int
    valid_from: datetime
    valid_to: datetime | None


class DeviceOut(BaseModel):
    id: int
    address: str = Field(description="Bluetooth identity address.")
    kind: str | None
    serial: str | None
    manufacturer: str | None
    model: str | None
    firmware: str | None
    status: Literal["active", "silent"] = Field(
        description="'silent' when nothing was heard for longer than API_DEVICE_SILENT_AFTER_H."
    )
    battery_level: int | None = Field(description="Percent, as last reported.")
    battery_at: datetime | None
    first_seen: datetime
    last_seen: datetime = Field(description="Last contact.")
    last_gateway_id: str | None
    bound_gateway_id: str | None = Field(
        description="The gateway that serves the device; readings through any other are quarantined."
    )
    gateway_state: str | None
    assignments: list[CurrentAssignment] = Field(description="Assignments in force now (in your scope).")


class DevicePage(BaseModel):
    items: list[DeviceOut]
    next_cursor: str | None


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(pattern=ADDRESS_PATTERN, description="Bluetooth address, AA:BB:CC:DD:EE:FF.")
    kind: Kind | None = None
    serial: Text100 | None = None
    manufacturer: Text100 | None = None
    model: Text100 | None = None
    firmware: Text100 | None = None

    @field_validator("address")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class GatewayOut(BaseModel):
    gateway_id: str
    description: str | None
    state: Literal["online", "offline", "unknown"] = Field(description="From the retained status topic.")
    first_seen: datetime
    last_seen: datetime | None = Field(description="Last contact (batch or status).")
    status_at: datetime | None
    version: str | None
    uptime_s: float | None
    outbox_depth: int | None
    outbox_full: bool
    last_batch_seq: int | None
    enrolled_at: datetime | None = Field(description="When its broker account was issued (enrollment).")
    revoked_at: datetime | None = Field(description="When it was revoked; it can no longer connect.")


class GatewayPage(BaseModel):
    items: list[GatewayOut]
    next_cursor: str | None


class GatewayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gateway_id: str = Field(pattern=GATEWAY_ID_PATTERN)
    description: Text100 | None = None


_DEVICE_QUERY = """
SELECT d.id, d.address, d.kind, d.serial, d.manufacturer, d.model, d.firmware, d.battery_level,
       d.battery_at, d.first_seen, d.last_seen, d.last_gateway_id, d.bound_gateway_id,
       g.state AS gateway_state,
       coalesce(cur.assignments, '[]'::json) AS assignments
FROM devices d
LEFT JOIN gateways g ON g.gateway_id = d.last_gateway_id
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_object(
           'assignment_id', a.id, 'citizen_id', a.citizen_id, 'user_slot', a.user_slot,
           'valid_from', lower(a.valid), 'valid_to', upper(a.valid)) ORDER BY a.user_slot) AS assignments
  FROM device_assignments a JOIN citizens c ON c.id = a.citizen_id
  WHERE a.device_id = d.id AND a.valid @> now() AND {scope}
) cur ON true
WHERE {conditions}
ORDER BY d.id
LIMIT %(limit)s
"""


def _device_out(row: dict[str, Any], silent_after: timedelta) -> DeviceOut:
    silent = row["last_seen"] < datetime.now(UTC) - silent_after
    return DeviceOut(**row, status="silent" if silent else "active")


def _silent_after(request: Request) -> timedelta:
    hours: float = request.app.state.settings.device_silent_after_h
    return timedelta(hours=hours)


async def _devices(
    database: DatabaseDep, caller: Caller, conditions: list[sql.Composable], params: dict[str, Any]
) -> list[dict[str, Any]]:
    scope, scope_params = citizen_scope(caller)
    if caller.principal.role is Role.CAREGIVER:
        conditions = [*conditions, sql.SQL("cur.assignments IS NOT NULL")]
    query = sql.SQL(_DEVICE_QUERY).format(
        scope=scope, conditions=sql.SQL(" AND ").join(conditions or [sql.SQL("TRUE")])
    )
    async with database.transaction() as conn:
        rows = await (await conn.execute(query, {**params, **scope_params})).fetchall()
        citizens = {a["citizen_id"] for r in rows for a in r["assignments"]}
        if citizens:  # device lists name citizens through their assignments
            await audit.record(conn, caller, Action.READ, "devices", citizen_ids=citizens)
    return rows


@router.get("/devices", response_model=DevicePage, summary="Devices with status, last contact and battery")
async def list_devices(
    *,
    request: Request,
    caller: CallerDep,
    database: DatabaseDep,
    kind: Kind | None = None,
    gateway_id: TextQuery = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> DevicePage:
    require(caller.principal, Permission.DEVICES_READ)
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {"limit": limit + 1}
    if kind is not None:
        conditions.append(sql.SQL("d.kind = %(kind)s"))
        params["kind"] = kind.value
    if gateway_id is not None:
        conditions.append(sql.SQL("d.last_gateway_id = %(gateway_id)s"))
        params["gateway_id"] = gateway_id
    if cursor:
        (params["after"],) = decode_cursor(cursor, CURSOR_ID)
        conditions.append(sql.SQL("d.id > %(after)s"))
    rows = await _devices(database, caller, conditions, params)
    page = rows[:limit]
    silent_after = _silent_after(request)
    return DevicePage(
        items=[_device_out(r, silent_after) for r in page],
        next_cursor=encode_cursor(page[-1]["id"]) if len(rows) > limit else None,
    )


@router.get("/devices/{device_id}", response_model=DeviceOut, responses=NOT_FOUND, summary="One device")
async def get_device(
    device_id: IdPath, request: Request, caller: CallerDep, database: DatabaseDep
) -> DeviceOut:
    if not caller.principal.can(Permission.DEVICES_READ):  # 403 alike whether it exists or not
        await _refuse_device(
            database, caller, device_id, role_refusal(caller.principal, Permission.DEVICES_READ)
        )
    rows = await _devices(database, caller, [sql.SQL("d.id = %(id)s")], {"id": device_id, "limit": 1})
    if not rows:
        team = caller.principal.team
        detail = f"device {device_id} is not in use by a citizen of care team '{team}'"
        await _refuse_device(database, caller, device_id, detail, missing_is_404=True)
    return _device_out(rows[0], _silent_after(request))


async def _refuse_device(
    database: DatabaseDep, caller: Caller, device_id: int, detail: str, *, missing_is_404: bool = False
) -> NoReturn:
    """403, audited as denied for the citizens the device serves now (the id leads to them)."""
    async with database.transaction() as conn:
        row = await (
            await conn.execute(
                "SELECT array_remove(array_agg(a.citizen_id), NULL) AS citizen_ids FROM devices d "
                "LEFT JOIN device_assignments a ON a.device_id = d.id AND a.valid @> now() "
                "WHERE d.id = %s GROUP BY d.id",
                (device_id,),
            )
        ).fetchone()
        if row is None and missing_is_404:
            raise NotFound("device", device_id)
        citizens = row["citizen_ids"] if row is not None else []
        await deny_indirectly(
            conn, caller, citizens, detail, action=Action.READ, resource=f"devices/{device_id}"
        )


@router.post(
    "/devices",
    response_model=DeviceOut,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Register a device before its first reading (admin)",
)
async def create_device(
    body: DeviceCreate, request: Request, response: Response, caller: CallerDep, database: DatabaseDep
) -> DeviceOut:
    require(caller.principal, Permission.DEVICES_WRITE)
    async with database.transaction() as conn:
        try:
            cursor = await conn.execute(
                "INSERT INTO devices (address, kind, serial, manufacturer, model, firmware) "
                "VALUES (%(address)s, %(kind)s, %(serial)s, %(manufacturer)s, %(model)s, %(firmware)s) "
                "RETURNING id",
                body.model_dump(mode="json"),
            )
        except pg.UniqueViolation:
            raise Conflict(f"a device with address {body.address} is already registered") from None
        row = await cursor.fetchone()
        assert row is not None  # noqa: S101 - INSERT ... RETURNING
    rows = await _devices(database, caller, [sql.SQL("d.id = %(id)s")], {"id": row["id"], "limit": 1})
    response.headers["Location"] = f"/api/v1/devices/{row['id']}"
    return _device_out(rows[0], _silent_after(request))


_GATEWAY_COLUMNS = (
    "g.gateway_id, g.description, g.state, g.first_seen, g.last_seen, g.status_at, g.version, "
    "g.uptime_s, g.outbox_depth, g.outbox_full, g.last_batch_seq, g.enrolled_at, g.revoked_at"
)
_CAREGIVER_GATEWAYS = """
g.gateway_id IN (
  SELECT d.last_gateway_id FROM devices d
  JOIN device_assignments a ON a.device_id = d.id AND a.valid @> now()
  JOIN citizens c ON c.id = a.citizen_id
  WHERE {scope})
"""


def _gateway_conditions(caller: Caller) -> tuple[list[sql.Composable], dict[str, Any]]:
    if caller.principal.role is not Role.CAREGIVER:
        return [], {}
    scope, params = citizen_scope(caller)
    return [sql.SQL(_CAREGIVER_GATEWAYS).format(scope=scope)], params


@router.get("/gateways", response_model=GatewayPage, summary="Gateways with state and last contact")
async def list_gateways(
    caller: CallerDep,
    database: DatabaseDep,
    state: Literal["online", "offline", "unknown"] | None = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> GatewayPage:
    require(caller.principal, Permission.DEVICES_READ)
    conditions, params = _gateway_conditions(caller)
    params["limit"] = limit + 1
    if state is not None:
        conditions.append(sql.SQL("g.state = %(state)s"))
        params["state"] = state
    if cursor:
        (params["after"],) = decode_cursor(cursor, str)
        conditions.append(sql.SQL("g.gateway_id > %(after)s"))
    query = sql.SQL("SELECT {} FROM gateways g WHERE {} ORDER BY g.gateway_id LIMIT %(limit)s").format(
        sql.SQL(_GATEWAY_COLUMNS), sql.SQL(" AND ").join(conditions or [sql.SQL("TRUE")])
    )
    async with database.transaction() as conn:
        rows = await (await conn.execute(query, params)).fetchall()
        page = rows[:limit]
        await _audit_gateways(conn, caller, [r["gateway_id"] for r in page], "gateways")
    return GatewayPage(
        items=[GatewayOut(**r) for r in page],
        next_cursor=encode_cursor(page[-1]["gateway_id"]) if len(rows) > limit else None,
    )


@router.get("/gateways/{gateway_id}", response_model=GatewayOut, responses=NOT_FOUND, summary="One gateway")
async def get_gateway(gateway_id: GatewayIdPath, caller: CallerDep, database: DatabaseDep) -> GatewayOut:
    require(caller.principal, Permission.DEVICES_READ)
    conditions, params = _gateway_conditions(caller)
    conditions.append(sql.SQL("g.gateway_id = %(gateway_id)s"))
    params["gateway_id"] = gateway_id
    query = sql.SQL("SELECT {} FROM gateways g WHERE {}").format(
        sql.SQL(_GATEWAY_COLUMNS), sql.SQL(" AND ").join(conditions)
    )
    async with database.transaction() as conn:
        row = await (await conn.execute(query, params)).fetchone()
        if row is None:
            await _refuse_gateway(conn, caller, gateway_id)
        await _audit_gateways(conn, caller, [gateway_id], f"gateways/{gateway_id}")
    return GatewayOut(**row)


@router.post(
    "/gateways",
    response_model=GatewayOut,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Register a gateway before it first connects (admin)",
)
async def create_gateway(
    body: GatewayCreate, response: Response, caller: CallerDep, database: DatabaseDep
) -> GatewayOut:
    require(caller.principal, Permission.DEVICES_WRITE)
    async with database.transaction() as conn:
        try:
            cursor = await conn.execute(
                "INSERT INTO gateways (gateway_id, description) VALUES (%s, %s) "
                f"RETURNING {_GATEWAY_COLUMNS.replace('g.', '')}",
                (body.gateway_id, body.description),
            )
        except pg.UniqueViolation:
            raise Conflict(f"gateway {body.gateway_id} is already registered") from None
        row = await cursor.fetchone()
        assert row is not None  # noqa: S101 - INSERT ... RETURNING
    response.headers["Location"] = f"/api/v1/gateways/{body.gateway_id}"
    return GatewayOut(**row)


async def _refuse_gateway(conn: Connection, caller: Caller, gateway_id: str) -> NoReturn:
    """404 when it does not exist at all; 403 when it exists outside a caregiver's team."""
    exists = await (
        await conn.execute("SELECT 1 FROM gateways WHERE gateway_id = %s", (gateway_id,))
    ).fetchone()
    if exists is None:
        raise NotFound("gateway", gateway_id)
    raise Forbidden(f"gateway {gateway_id} is not in use by a citizen of care team '{caller.principal.team}'")


_GATEWAY_CITIZENS = """
SELECT DISTINCT a.citizen_id FROM devices d
JOIN device_assignments a ON a.device_id = d.id AND a.valid @> now()
JOIN citizens c ON c.id = a.citizen_id
WHERE d.last_gateway_id = ANY(%(gateways)s) AND {scope}
"""


async def _audit_gateways(conn: Connection, caller: Caller, gateway_ids: list[str], resource: str) -> None:
    """A caregiver's gateways are those of their citizens' devices: the answer is about them."""
    if caller.principal.role is not Role.CAREGIVER:
        return
    scope, params = citizen_scope(caller)
    rows = await (
        await conn.execute(
            sql.SQL(_GATEWAY_CITIZENS).format(scope=scope), {**params, "gateways": gateway_ids}
        )
    ).fetchall()
    await audit.record(conn, caller, Action.READ, resource, citizen_ids=[r["citizen_id"] for r in rows])
