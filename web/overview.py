"""The staff's "I dag": citizens in the caller's scope, most worrying first.

Rows come from ``grafana.care_overview`` (migrations 0004 and 0008: it reads the summary
tables), the view Grafana's care overview reads, so both rank by the same levels and limits;
names come from ``citizens``. The read
is audited like the API's citizen list (one row naming every citizen shown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from psycopg import sql

from api import audit
from api.access import citizen_scope
from api.audit import Action
from api.context import Caller
from api.db import Database
from api.roles import Permission, require
from dashboards.i18n import LOW_BATTERY_PERCENT, MISSING_DAYS


class Attention(IntEnum):
    """Why a citizen needs attention, most worrying first (the page's sort order)."""

    RED = 0
    YELLOW = 1
    MISSING = 2
    GATEWAY_OFFLINE = 3
    LOW_BATTERY = 4
    NONE = 5


@dataclass
class OverviewRow:
    row: dict[str, Any]
    reasons: list[tuple[Attention, str, dict[str, object]]] = field(default_factory=list)

    @property
    def attention(self) -> Attention:
        return min((reason for reason, _, _ in self.reasons), default=Attention.NONE)


_QUERY = """
SELECT o.citizen_id, ci.given_name, ci.family_name, o.care_team, o.timezone,
       o.last_measured_at, o.last_systolic, o.last_diastolic, o.last_pulse, o.last_level,
       o.mean7_systolic, o.mean7_diastolic, o.mean7_readings, o.mean7_level,
       o.open_alerts, o.unresolved_alerts, o.days_since_last, o.devices, o.battery_min,
       o.gateway_state, o.gateway_last_seen
FROM grafana.care_overview o JOIN citizens ci ON ci.id = o.citizen_id
WHERE {scope}
"""


def attention_reasons(row: dict[str, Any]) -> list[tuple[Attention, str, dict[str, object]]]:
    """Each reason as (rank, message key, message values)."""
    reasons: list[tuple[Attention, str, dict[str, object]]] = []
    levels = {row["last_level"], row["mean7_level"]}
    if "alert" in levels:
        reasons.append((Attention.RED, "reason.alert", {}))
    elif "warning" in levels:
        reasons.append((Attention.YELLOW, "reason.warning", {}))
    if row["open_alerts"]:
        reasons.append((Attention.YELLOW, "reason.open_alerts", {"n": row["open_alerts"]}))
    if row["days_since_last"] is None:
        reasons.append((Attention.MISSING, "reason.never", {}))
    elif row["days_since_last"] >= MISSING_DAYS:
        reasons.append((Attention.MISSING, "reason.missing", {"n": row["days_since_last"]}))
    if row["gateway_state"] == "offline":
        reasons.append((Attention.GATEWAY_OFFLINE, "reason.gateway_offline", {}))
    if row["battery_min"] is not None and row["battery_min"] < LOW_BATTERY_PERCENT:
        reasons.append((Attention.LOW_BATTERY, "reason.low_battery", {"n": row["battery_min"]}))
    return sorted(reasons, key=lambda reason: reason[0])


async def care_overview(database: Database, caller: Caller) -> list[OverviewRow]:
    require(caller.principal, Permission.CLINICAL_READ)
    require(caller.principal, Permission.CITIZENS_READ)
    scope, params = citizen_scope(caller, "ci")
    async with database.transaction() as conn:
        rows = await (await conn.execute(sql.SQL(_QUERY).format(scope=scope), params)).fetchall()
        await audit.record(
            conn, caller, Action.READ, "care-overview", citizen_ids=[r["citizen_id"] for r in rows]
        )
    ranked = [OverviewRow(r, attention_reasons(r)) for r in rows]
    return sorted(
        ranked,
        key=lambda o: (
            o.attention,
            -(o.row["days_since_last"] or 0),
            o.row["family_name"],
            o.row["given_name"],
        ),
    )
