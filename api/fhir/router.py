"""HL7 FHIR R4 read and search endpoints under /fhir (clinicians; docs/fhir.md).

``GET /fhir/Observation?patient=&date=&code=&_count=`` returns a searchset Bundle, newest
first, with a ``next`` link while more match. Errors are problem+json like the rest of
the API (docs/fhir.md explains why not OperationOutcome).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from psycopg import sql

from api import audit
from api.access import authorize_citizen
from api.audit import Action
from api.context import CallerDep, DatabaseDep
from api.db import Connection
from api.errors import NotFound
from api.fhir.resources import (
    KINDS_FOR_TYPE,
    TYPES_BY_PREFIX,
    device_resource,
    observations_for_reading,
    patient_resource,
    searchset,
    serialised,
    validated,
)
from api.fhir.search import ALL_TYPES, parse_codes, parse_dates, parse_patient
from api.pagination import CURSOR_TIME, CURSOR_UUID, IdPath, decode_cursor, encode_cursor
from api.problems import NOT_FOUND
from api.roles import Permission, require

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])

FHIR_JSON = "application/fhir+json"


class FhirResponse(Response):
    media_type = FHIR_JSON


_FHIR_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "A FHIR R4 resource.", "content": {FHIR_JSON: {"schema": {"type": "object"}}}},
    **NOT_FOUND,
}
OBSERVATION_COLUMNS = (
    "r.reading_id, r.measured_at, r.received_at, r.kind, r.citizen_id, r.device_id, r.systolic, r.diastolic, "
    "r.mean_arterial_pressure, r.pulse_rate, r.value, r.status, r.invalid_values, r.implausible, "
    "r.implausible_reasons, r.clock_in_future, r.time_source"
)


def _base_url(request: Request) -> str:
    configured: str | None = request.app.state.settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")


def _fhir(resource: dict[str, Any]) -> FhirResponse:
    return FhirResponse(validated(resource), headers={"Cache-Control": "no-store"})


def _fhir_observations(resource: dict[str, Any]) -> FhirResponse:
    """Observations and their searchset: the model path's bytes without the models (resources.py)."""
    return FhirResponse(serialised(resource), headers={"Cache-Control": "no-store"})


@router.get(
    "/Observation",
    response_class=FhirResponse,
    responses=_FHIR_DOC,
    summary="Search Observations of one patient (searchset Bundle)",
)
async def search_observations(
    *,
    request: Request,
    caller: CallerDep,
    database: DatabaseDep,
    patient: Annotated[str, Query(max_length=40, description="Patient id: 42 or Patient/42.")],
    date: Annotated[
        list[str] | None, Query(max_length=60, description="e.g. ge2026-01-01; repeatable.")
    ] = None,
    code: Annotated[
        list[str] | None,
        Query(max_length=200, description="LOINC, e.g. 85354-9 or http://loinc.org|8867-4; comma means OR."),
    ] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(alias="_cursor", max_length=300, pattern=r"^[A-Za-z0-9_-]*$")] = None,
) -> FhirResponse:
    # The request names a patient: authorize_citizen checks the role too, and audits a refusal.
    citizen_id = parse_patient(patient)
    wanted = parse_codes(code) if code else ALL_TYPES
    async with database.transaction() as conn:
        citizen = await authorize_citizen(
            conn, caller, citizen_id, Permission.FHIR_READ, action=Action.EXPORT, resource="fhir/Observation"
        )
        bounds = parse_dates(date or [], citizen["timezone"])
        # At most _count resources per page: a reading can yield two (BP and heart rate).
        per_reading = 2 if "hr" in wanted and len(wanted) > 1 else 1
        limit = max(1, count // per_reading)
        rows = (
            await _observation_rows(conn, citizen_id, wanted, bounds=bounds, cursor=cursor, limit=limit)
            if wanted
            else []
        )
        await audit.record(
            conn,
            caller,
            Action.EXPORT,
            "fhir/Observation",
            citizen_id=citizen_id,
            details={"date": date, "code": code} if date or code else None,
        )
    page = rows[:limit]
    entries = [obs for row in page for obs in observations_for_reading(row, wanted)]
    base = _base_url(request)
    next_url = None
    if len(rows) > limit:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "_cursor"]
        params.append(("_cursor", encode_cursor(page[-1]["measured_at"], page[-1]["reading_id"])))
        next_url = f"{base}/fhir/Observation?{urlencode(params)}"
    self_url = (
        f"{base}/fhir/Observation?{request.url.query}" if request.url.query else f"{base}/fhir/Observation"
    )
    return _fhir_observations(
        searchset(entries, base=base, self_url=self_url, next_url=next_url, timestamp=datetime.now(UTC))
    )


async def _observation_rows(
    conn: Connection, citizen_id: int, wanted: list[str], *, bounds: list[Any], cursor: str | None, limit: int
) -> list[dict[str, Any]]:
    kinds = sorted({kind for prefix in wanted for kind in KINDS_FOR_TYPE[prefix]})
    params: dict[str, Any] = {"citizen_id": citizen_id, "kinds": kinds, "limit": limit + 1}
    conditions: list[sql.Composable] = [sql.SQL("r.citizen_id = %(citizen_id)s AND r.kind = ANY(%(kinds)s)")]
    for i, bound in enumerate(bounds):
        conditions.append(sql.SQL("r.measured_at {} {}").format(sql.SQL(bound.op), sql.Placeholder(f"b{i}")))
        params[f"b{i}"] = bound.at
    if cursor:
        params["c_at"], params["c_id"] = decode_cursor(cursor, CURSOR_TIME, CURSOR_UUID)
        conditions.append(
            sql.SQL("r.measured_at <= %(c_at)s AND (r.measured_at, r.reading_id) < (%(c_at)s, %(c_id)s)")
        )
    query = sql.SQL(
        "SELECT {} FROM readings r WHERE {} ORDER BY r.measured_at DESC, r.reading_id DESC LIMIT %(limit)s"
    ).format(sql.SQL(OBSERVATION_COLUMNS), sql.SQL(" AND ").join(conditions))
    rows: list[dict[str, Any]] = await (await conn.execute(query, params)).fetchall()
    return rows


@router.get(
    "/Observation/{observation_id}",
    response_class=FhirResponse,
    responses=_FHIR_DOC,
    summary="Read one Observation (id: bp-, hr-, wt-, temp- or spo2- and the reading_id)",
)
async def read_observation(
    observation_id: Annotated[str, Path(pattern=r"^(bp|hr|wt|temp|spo2)-[0-9a-f-]{36}$")],
    caller: CallerDep,
    database: DatabaseDep,
) -> FhirResponse:
    prefix, _, reading_id = observation_id.partition("-")
    resource = f"fhir/Observation/{observation_id}"
    try:
        reading_uuid = UUID(reading_id)
    except ValueError:
        require(caller.principal, Permission.FHIR_READ)
        raise NotFound("Observation", observation_id) from None
    async with database.transaction() as conn:
        row = await (
            await conn.execute(
                sql.SQL("SELECT {} FROM readings r WHERE r.reading_id = %s").format(
                    sql.SQL(OBSERVATION_COLUMNS)
                ),
                (reading_uuid,),
            )
        ).fetchone()
        if row is None or row["citizen_id"] is None:  # unassigned readings have no Patient yet
            require(caller.principal, Permission.FHIR_READ)  # a refusal alike whether it exists or not
            raise NotFound("Observation", observation_id)
        # The id leads to a citizen: a refusal is audited, and does not say whose reading it is.
        await authorize_citizen(
            conn,
            caller,
            row["citizen_id"],
            Permission.FHIR_READ,
            action=Action.EXPORT,
            resource=resource,
            indirect=True,
        )
        found = observations_for_reading(row, [TYPES_BY_PREFIX[prefix].prefix])
        if not found:
            raise NotFound("Observation", observation_id)
        await audit.record(conn, caller, Action.EXPORT, resource, citizen_id=row["citizen_id"])
    return _fhir_observations(found[0])


@router.get(
    "/Patient/{patient_id}",
    response_class=FhirResponse,
    responses=_FHIR_DOC,
    summary="Read one Patient (DK-core)",
)
async def read_patient(
    request: Request, patient_id: IdPath, caller: CallerDep, database: DatabaseDep
) -> FhirResponse:
    resource = f"fhir/Patient/{patient_id}"
    async with database.transaction() as conn:
        citizen = await authorize_citizen(
            conn, caller, patient_id, Permission.FHIR_READ, action=Action.EXPORT, resource=resource
        )
        await audit.record(conn, caller, Action.EXPORT, resource, citizen_id=patient_id)
    return _fhir(
        patient_resource(
            citizen,
            include_cpr=caller.principal.can(Permission.CPR_READ),
            organisation=request.app.state.settings.organisation,
        )
    )


@router.get(
    "/Device/{device_id}", response_class=FhirResponse, responses=_FHIR_DOC, summary="Read one Device"
)
async def read_device(device_id: IdPath, caller: CallerDep, database: DatabaseDep) -> FhirResponse:
    resource = f"fhir/Device/{device_id}"
    async with database.transaction() as conn:
        device = await _device_with_patient(conn, device_id)
        patient_id = None if device is None else device["patient_id"]
        if patient_id is None:
            require(caller.principal, Permission.FHIR_READ)  # a refusal alike whether it exists or not
        else:  # the device leads to a citizen: a refusal is audited and does not say whose it is
            await authorize_citizen(
                conn,
                caller,
                patient_id,
                Permission.FHIR_READ,
                action=Action.EXPORT,
                resource=resource,
                indirect=True,
            )
        if device is None:
            raise NotFound("Device", device_id)
        await audit.record(conn, caller, Action.EXPORT, resource, citizen_id=patient_id)
    return _fhir(device_resource(device, patient_id))


async def _device_with_patient(conn: Connection, device_id: int) -> dict[str, Any] | None:
    """The device, and the citizen it is assigned to now (the lowest user slot, if several)."""
    row = await (
        await conn.execute(
            "SELECT d.id, d.address, d.kind, d.serial, d.manufacturer, d.model, d.firmware, "
            "(SELECT a.citizen_id FROM device_assignments a WHERE a.device_id = d.id AND a.valid @> now() "
            " ORDER BY a.user_slot LIMIT 1) AS patient_id FROM devices d WHERE d.id = %s",
            (device_id,),
        )
    ).fetchone()
    device: dict[str, Any] | None = row
    return device
