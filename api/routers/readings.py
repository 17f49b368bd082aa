"""Readings of a citizen (raw pages or time buckets) and the unassigned readings.

Raw readings come newest first with a cursor. ``bucket=1h|1d|1w`` aggregates instead
(min, max, mean, count per metric) with TimescaleDB's ``time_bucket`` in the citizen's time
zone, so a day bucket is a local calendar day, across daylight-saving changes too.
Aggregates leave out readings flagged implausible or ``clock_in_future`` (their time is
not to be trusted: a device clock set to 9999-12-31 would make a bucket past the last
representable date); raw pages show them, flagged.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from psycopg import sql
from psycopg.rows import tuple_row
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api import audit
from api.access import authorize_citizen
from api.audit import Action
from api.context import CallerDep, DatabaseDep
from api.errors import InvalidRequest, NotFound
from api.pagination import (
    CURSOR_TIME,
    CURSOR_UUID,
    MAX_BIGINT,
    CursorParam,
    FromParam,
    IdPath,
    IdQuery,
    Limit,
    ToParam,
    decode_cursor,
    encode_cursor,
)
from api.problems import NOT_FOUND
from api.roles import Permission, require
from homevitals.contract.kinds import KINDS
from homevitals.contract.models import Kind

router = APIRouter(tags=["readings"])

Bucket = Literal["1h", "1d", "1w"]
BUCKET_WIDTH: dict[str, str] = {"1h": "1 hour", "1d": "1 day", "1w": "1 week"}

READING_COLUMNS = (
    "reading_id, measured_at, kind, unit, original_unit, systolic, diastolic, mean_arterial_pressure, "
    'pulse_rate, value, "values", status, invalid_values, implausible, implausible_reasons, '
    "clock_in_future, time_source, device_id, user_slot, gateway_id, device_time, gateway_time, received_at"
)


class ReadingOut(BaseModel):
    reading_id: UUID
    measured_at: datetime
    kind: str
    unit: str
    original_unit: str | None
    systolic: float | None
    diastolic: float | None
    mean_arterial_pressure: float | None
    pulse_rate: float | None
    value: float | None = Field(description="Main value of non-BP kinds (weight, glucose, ...).")
    values: dict[str, Any] = Field(description="All values as the gateway sent them (canonical units).")
    status: dict[str, Any] | None = Field(description="Device status flags, e.g. body_movement.")
    invalid_values: list[str]
    implausible: bool
    implausible_reasons: list[str]
    clock_in_future: bool
    time_source: str
    device_id: int
    user_slot: int | None
    gateway_id: str
    device_time: str | None = Field(
        description="The device's own clock as reported: ISO 8601 local time without an offset "
        "(the device does not know its zone)."
    )
    gateway_time: datetime
    received_at: datetime

    @field_validator("device_time", mode="before")
    @classmethod
    def _naive_iso(cls, value: object) -> object:
        return value.isoformat() if isinstance(value, datetime) else value


class ReadingsPage(BaseModel):
    items: list[ReadingOut]
    next_cursor: str | None


class MetricSummary(BaseModel):
    min: float
    max: float
    mean: float
    count: int


class BucketOut(BaseModel):
    bucket_start: datetime = Field(description="Start of the bucket in the citizen's local time.")
    kind: str
    count: int = Field(description="Readings in the bucket (implausible ones and clock_in_future excluded).")
    metrics: dict[str, MetricSummary]


class BucketedReadings(BaseModel):
    bucket: Bucket
    timezone: str
    items: list[BucketOut]


class UnassignedReadingOut(ReadingOut):
    device_address: str
    quarantine_reason: Literal["device_bound_to_other_gateway", "gateway_revoked"] | None = Field(
        default=None,
        description="Set when the reading is quarantined: it came through a gateway that does not serve "
        "the device, or through a revoked one. It is kept as evidence and never assigned to a citizen.",
    )


class UnassignedPage(BaseModel):
    items: list[UnassignedReadingOut]
    next_cursor: str | None


class AssignReadings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignment_id: int = Field(ge=1, le=MAX_BIGINT, description="Assign the readings this assignment covers.")


class AssignedReadings(BaseModel):
    assignment_id: int
    citizen_id: int
    assigned: int = Field(description="Readings that were unassigned and now belong to the citizen.")


def _time_conditions(
    params: dict[str, Any], start: datetime | None, end: datetime | None, cursor: str | None
) -> list[sql.Composable]:
    conditions: list[sql.Composable] = []
    if start is not None:
        conditions.append(sql.SQL("r.measured_at >= %(start)s"))
        params["start"] = start
    if end is not None:
        conditions.append(sql.SQL("r.measured_at < %(end)s"))
        params["end"] = end
    if start is not None and end is not None and end <= start:
        raise InvalidRequest("'to' must be later than 'from'")
    if cursor:
        params["c_at"], params["c_id"] = decode_cursor(cursor, CURSOR_TIME, CURSOR_UUID)
        # The plain bound lets the index range-scan; the row comparison breaks ties.
        conditions.append(
            sql.SQL("r.measured_at <= %(c_at)s AND (r.measured_at, r.reading_id) < (%(c_at)s, %(c_id)s)")
        )
    return conditions


@router.get(
    "/citizens/{citizen_id}/readings",
    response_model=ReadingsPage | BucketedReadings,
    responses=NOT_FOUND,
    summary="A citizen's readings, raw (newest first) or aggregated in time buckets",
)
async def list_readings(
    *,
    citizen_id: IdPath,
    caller: CallerDep,
    database: DatabaseDep,
    start: FromParam = None,
    end: ToParam = None,
    kind: Kind | None = None,
    bucket: Annotated[Bucket | None, Query(description="Aggregate per hour, local day or week.")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Response:
    resource = f"citizens/{citizen_id}/readings"
    params: dict[str, Any] = {"citizen_id": citizen_id}
    conditions: list[sql.Composable] = [sql.SQL("r.citizen_id = %(citizen_id)s")]
    if kind is not None:
        conditions.append(sql.SQL("r.kind = %(kind)s"))
        params["kind"] = kind.value
    if bucket is not None and cursor:
        raise InvalidRequest("bucketed readings come in one answer; leave out 'cursor'")
    conditions += _time_conditions(params, start, end, cursor)
    details = {
        "kind": kind.value if kind else None,
        "bucket": bucket,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
    }
    async with database.transaction() as conn, conn.cursor(row_factory=tuple_row) as answer:
        # Pipeline mode: BEGIN goes with the citizen check and the read with its audit row,
        # one round trip each, then COMMIT: three in all, where each statement used to wait
        # for the one before (five, six for buckets). The read's rows are fetched once the
        # pipeline has been synced; an error in the read is raised there, and nothing commits.
        async with conn.pipeline():
            citizen = await authorize_citizen(
                conn, caller, citizen_id, Permission.CLINICAL_READ, action=Action.READ, resource=resource
            )
            if bucket is None:
                params["limit"] = limit + 1
                await answer.execute(_raw_query(conditions), params, prepare=True)
            else:
                # bucket_start is written in the citizen's zone: the transaction's TimeZone
                # (set_config local: the pooled connection goes back in UTC).
                await conn.execute("SELECT set_config('TimeZone', %s, true)", (citizen["timezone"],))
                bucket_params = {
                    **params,
                    "width": BUCKET_WIDTH[bucket],
                    "tz": citizen["timezone"],
                    "bucket": bucket,
                }
                await answer.execute(_bucket_query(conditions), bucket_params, prepare=True)
            await audit.record(
                conn,
                caller,
                Action.READ,
                resource,
                citizen_id=citizen_id,
                details={k: v for k, v in details.items() if v is not None},
            )
        rows: list[Any] = await answer.fetchall()
    if bucket is not None:
        return Response(rows[0][0], media_type="application/json")
    return _readings_page(rows, limit)


# The hot path (a clinician's chart of 90 days) renders each reading's JSON in PostgreSQL and
# joins the strings: no Python object per row, no second validation of our own output. The
# shape is ReadingOut's (checked by the tests and by schemathesis against the OpenAPI spec).
_QUALIFIED_COLUMNS = ", ".join(f"r.{column.strip()}" for column in READING_COLUMNS.split(","))


def _raw_query(conditions: list[sql.Composable]) -> sql.Composed:
    """The page (one more than the limit, for the cursor), each reading as its JSON text."""
    return sql.SQL(
        "SELECT to_json(x)::text AS doc FROM readings r, LATERAL (SELECT {}) x WHERE {} "
        "ORDER BY r.measured_at DESC, r.reading_id DESC LIMIT %(limit)s"
    ).format(sql.SQL(_QUALIFIED_COLUMNS), sql.SQL(" AND ").join(conditions))


def _readings_page(rows: list[tuple[str]], limit: int) -> Response:
    """Rows of one JSON text each, newest first, one more than the page.

    The cursor's sort key is read back from the page's last item rather than fetched as two
    more columns of every row: one JSON parse instead of ~300 datetimes and UUIDs loaded.
    """
    page = rows[:limit]
    cursor = None
    if len(rows) > limit:
        last = json.loads(page[-1][0])
        cursor = encode_cursor(datetime.fromisoformat(last["measured_at"]), UUID(last["reading_id"]))
    body = '{"items":[' + ",".join(doc for (doc,) in page) + '],"next_cursor":' + json.dumps(cursor) + "}"
    return Response(body, media_type="application/json")


_METRIC_COLUMNS = ("systolic", "diastolic", "mean_arterial_pressure", "pulse_rate", "value")


# readings.value holds the kind's main value: its metric is named for it (weight, spo2, ...).
# Built once from the kinds registry, not per request.
_MAIN_VALUE_NAME: Final = sql.SQL("CASE b.kind {} ELSE 'value' END").format(
    sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(str(info.kind)), sql.Literal(info.main_value))
        for info in KINDS.values()
        if info.main_value
    )
)


def _metric_name(col: str) -> sql.Composable:
    """The metric's key in a bucket's ``metrics``."""
    return _MAIN_VALUE_NAME if col == "value" else sql.Literal(col)


def _bucket_query(conditions: list[sql.Composable]) -> sql.Composed:
    """The BucketedReadings page as JSON text, aggregated and written by PostgreSQL in one row.

    Building ~90 items of nested dicts and dumping them cost the API ~1.5 ms of CPU a request;
    json_build_object in the statement that aggregates costs the database a fraction of that.
    Metrics without values are left out (json_strip_nulls), and bucket_start is written in the
    citizen's zone because the transaction's TimeZone is set to it. Parameters: the
    conditions', ``width``, ``tz`` and ``bucket``. The shape is BucketedReadings' (tests and
    schemathesis); an aggregate without GROUP BY always returns its one row.
    """
    aggregates = sql.SQL(", ").join(
        sql.SQL(
            "min({c})::float8 AS {mn}, max({c})::float8 AS {mx}, avg({c})::float8 AS {av}, count({c}) AS {ct}"
        ).format(
            c=sql.Identifier("r", col),
            mn=sql.Identifier(f"{col}_min"),
            mx=sql.Identifier(f"{col}_max"),
            av=sql.Identifier(f"{col}_mean"),
            ct=sql.Identifier(f"{col}_count"),
        )
        for col in _METRIC_COLUMNS
    )
    metrics = sql.SQL(", ").join(
        sql.SQL(
            "{name}, CASE WHEN b.{ct} > 0 THEN "
            "json_build_object('min', b.{mn}, 'max', b.{mx}, 'mean', b.{av}, 'count', b.{ct}) END"
        ).format(
            name=_metric_name(col),
            mn=sql.Identifier(f"{col}_min"),
            mx=sql.Identifier(f"{col}_max"),
            av=sql.Identifier(f"{col}_mean"),
            ct=sql.Identifier(f"{col}_count"),
        )
        for col in _METRIC_COLUMNS
    )
    return sql.SQL(
        "SELECT json_build_object('bucket', %(bucket)s::text, 'timezone', %(tz)s::text, 'items', "
        "COALESCE(json_agg(json_build_object('bucket_start', b.bucket_start, 'kind', b.kind, "
        "'count', b.readings, 'metrics', json_strip_nulls(json_build_object({metrics}))) "
        "ORDER BY b.bucket_start DESC, b.kind), '[]'::json))::text "
        "FROM (SELECT time_bucket(%(width)s::interval, r.measured_at, %(tz)s) AS bucket_start, r.kind, "
        "count(*) AS readings, {aggregates} FROM readings r WHERE {conditions} "
        "AND NOT r.implausible AND NOT r.clock_in_future GROUP BY 1, 2) b"
    ).format(metrics=metrics, aggregates=aggregates, conditions=sql.SQL(" AND ").join(conditions))


@router.get(
    "/unassigned-readings",
    response_model=UnassignedPage,
    summary="Readings from devices nobody was assigned to at the time (newest first)",
)
async def list_unassigned(
    *,
    caller: CallerDep,
    database: DatabaseDep,
    device_id: IdQuery = None,
    quarantined: Annotated[
        bool | None, Query(description="true: only quarantined readings; false: only assignable ones.")
    ] = None,
    start: FromParam = None,
    end: ToParam = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> UnassignedPage:
    require(caller.principal, Permission.UNASSIGNED_READ)
    params: dict[str, Any] = {"limit": limit + 1}
    conditions: list[sql.Composable] = [sql.SQL("r.citizen_id IS NULL")]
    if device_id is not None:
        conditions.append(sql.SQL("r.device_id = %(device_id)s"))
        params["device_id"] = device_id
    if quarantined is not None:
        conditions.append(
            sql.SQL("r.quarantine_reason IS NOT NULL" if quarantined else "r.quarantine_reason IS NULL")
        )
    conditions += _time_conditions(params, start, end, cursor)
    columns = ", ".join(f"r.{c.strip()}" for c in READING_COLUMNS.split(","))
    query = sql.SQL(
        "SELECT {}, d.address AS device_address, r.quarantine_reason FROM readings r "
        "JOIN devices d ON d.id = r.device_id "
        "WHERE {} ORDER BY r.measured_at DESC, r.reading_id DESC LIMIT %(limit)s"
    ).format(sql.SQL(columns), sql.SQL(" AND ").join(conditions))
    async with database.transaction() as conn:
        rows = await (await conn.execute(query, params)).fetchall()
        # Health data of a person not yet known: audited like any other read.
        await audit.record(
            conn,
            caller,
            Action.READ,
            "unassigned-readings",
            details={"device_id": device_id} if device_id else None,
        )
    page = rows[:limit]
    return UnassignedPage(
        items=[UnassignedReadingOut(**r) for r in page],
        next_cursor=encode_cursor(page[-1]["measured_at"], page[-1]["reading_id"])
        if len(rows) > limit
        else None,
    )


# One statement, defined once in the database (migration 0002): every unassigned reading of
# the assignment's device and user slot measured inside its period goes to its citizen.
ASSIGN_SQL = "SELECT assign_unassigned_readings(%(assignment_id)s) AS assigned"


@router.post(
    "/unassigned-readings/assign",
    response_model=AssignedReadings,
    responses=NOT_FOUND,
    summary="Give every unassigned reading an assignment covers to its citizen, in one call",
)
async def assign_unassigned(
    body: AssignReadings, caller: CallerDep, database: DatabaseDep
) -> AssignedReadings:
    async with database.transaction() as conn:
        assignment = await (
            await conn.execute(
                "SELECT id, citizen_id, lower(valid) AS valid_from, upper(valid) AS valid_to "
                "FROM device_assignments WHERE id = %s",
                (body.assignment_id,),
            )
        ).fetchone()
        if assignment is None:
            raise NotFound("assignment", body.assignment_id)
        citizen_id = assignment["citizen_id"]
        resource = f"citizens/{citizen_id}/readings"
        await authorize_citizen(
            conn, caller, citizen_id, Permission.UNASSIGNED_ASSIGN, action=Action.ASSIGN, resource=resource
        )
        row = await (await conn.execute(ASSIGN_SQL, {"assignment_id": assignment["id"]})).fetchone()
        assigned = int(row["assigned"]) if row is not None else 0
        await audit.record(
            conn,
            caller,
            Action.ASSIGN,
            resource,
            citizen_id=citizen_id,
            details={"assignment_id": assignment["id"], "readings": assigned},
        )
    return AssignedReadings(assignment_id=assignment["id"], citizen_id=citizen_id, assigned=assigned)
