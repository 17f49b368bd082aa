"""A citizen's alert thresholds: their own where set, else the care-plan default.

PUT replaces the citizen's personal thresholds as a whole: metrics in the body are set,
metrics left out fall back to the default. Ingest reads them for every new reading.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api import audit
from api.access import authorize_citizen
from api.audit import Action
from api.context import CallerDep, DatabaseDep
from api.db import Connection
from api.errors import InvalidRequest
from api.pagination import IdPath
from api.problems import NOT_FOUND
from api.roles import Permission

router = APIRouter(tags=["thresholds"])

Limit = Annotated[float, Field(ge=-1_000_000, le=1_000_000, allow_inf_nan=False)]


class ThresholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")] = Field(
        description="systolic, diastolic, pulse_rate, weight, glucose, temperature or spo2."
    )
    alert_low: Limit
    warn_low: Limit
    warn_high: Limit
    alert_high: Limit

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdIn:
        if not (self.alert_low < self.warn_low < self.warn_high < self.alert_high):
            raise ValueError("thresholds must rise: alert_low < warn_low < warn_high < alert_high")
        return self


class ThresholdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: list[ThresholdIn] = Field(max_length=50, description="The citizen's personal thresholds.")

    @model_validator(mode="after")
    def _unique(self) -> ThresholdsIn:
        metrics = [t.metric for t in self.thresholds]
        if len(metrics) != len(set(metrics)):
            raise ValueError("each metric may appear once")
        return self


class ThresholdOut(BaseModel):
    metric: str
    unit: str
    alert_low: float
    warn_low: float
    warn_high: float
    alert_high: float
    personal: bool = Field(description="Set for this citizen (false: the care-plan default).")
    updated_by: str | None
    updated_at: datetime | None


class Thresholds(BaseModel):
    citizen_id: int
    thresholds: list[ThresholdOut]


async def _effective(conn: Connection, citizen_id: int) -> Thresholds:
    rows = await (
        await conn.execute(
            "SELECT e.metric, e.unit, e.alert_low, e.warn_low, e.warn_high, e.alert_high, e.personal, "
            "t.updated_by, t.updated_at FROM effective_thresholds e "
            "LEFT JOIN thresholds t ON t.citizen_id = e.citizen_id AND t.metric = e.metric "
            "WHERE e.citizen_id = %s ORDER BY e.metric",
            (citizen_id,),
        )
    ).fetchall()
    return Thresholds(citizen_id=citizen_id, thresholds=[ThresholdOut(**r) for r in rows])


@router.get(
    "/citizens/{citizen_id}/thresholds",
    response_model=Thresholds,
    responses=NOT_FOUND,
    summary="A citizen's thresholds (personal or default)",
)
async def get_thresholds(citizen_id: IdPath, caller: CallerDep, database: DatabaseDep) -> Thresholds:
    resource = f"citizens/{citizen_id}/thresholds"
    async with database.transaction() as conn:
        await authorize_citizen(
            conn, caller, citizen_id, Permission.CLINICAL_READ, action=Action.READ, resource=resource
        )
        result = await _effective(conn, citizen_id)
        await audit.record(conn, caller, Action.READ, resource, citizen_id=citizen_id)
    return result


@router.put(
    "/citizens/{citizen_id}/thresholds",
    response_model=Thresholds,
    responses=NOT_FOUND,
    summary="Replace a citizen's personal thresholds",
)
async def put_thresholds(
    citizen_id: IdPath, body: ThresholdsIn, caller: CallerDep, database: DatabaseDep
) -> Thresholds:
    resource = f"citizens/{citizen_id}/thresholds"
    async with database.transaction() as conn:
        await authorize_citizen(
            conn, caller, citizen_id, Permission.THRESHOLDS_WRITE, action=Action.UPDATE, resource=resource
        )
        known = {
            r["metric"]
            for r in await (await conn.execute("SELECT metric FROM default_thresholds")).fetchall()
        }
        unknown = sorted({t.metric for t in body.thresholds} - known)
        if unknown:
            raise InvalidRequest(f"unknown metric(s) {unknown}; known: {sorted(known)}")
        metrics = [t.metric for t in body.thresholds]
        # threshold_history (migration 0005) records who changed what, from this setting.
        await conn.execute("SELECT set_config('homevitals.actor', %s, true)", (caller.principal.sub,))
        await conn.execute(
            "DELETE FROM thresholds WHERE citizen_id = %s AND NOT (metric = ANY(%s))", (citizen_id, metrics)
        )
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO thresholds "
                "(citizen_id, metric, alert_low, warn_low, warn_high, alert_high, updated_by) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (citizen_id, metric) DO UPDATE SET "
                "alert_low = excluded.alert_low, warn_low = excluded.warn_low, "
                "warn_high = excluded.warn_high, "
                "alert_high = excluded.alert_high, updated_by = excluded.updated_by, updated_at = now()",
                [
                    (
                        citizen_id,
                        t.metric,
                        t.alert_low,
                        t.warn_low,
                        t.warn_high,
                        t.alert_high,
                        caller.principal.sub,
                    )
                    for t in body.thresholds
                ],
            )
        result = await _effective(conn, citizen_id)
        await audit.record(
            conn, caller, Action.UPDATE, resource, citizen_id=citizen_id, details={"metrics": sorted(metrics)}
        )
    return result
