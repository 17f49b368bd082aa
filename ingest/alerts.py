"""Alerts: classify a value against a citizen's thresholds (pure), and the periodic
"missing measurements" job.

Levels follow ``alert_low < warn_low < warn_high < alert_high`` with the same boundary rule
as the dashboards (migration 0004, ``grafana.threshold_level``): upper limits count from the
limit itself (ESH: a home BP of 135/85 or more is raised), lower limits below it. So a
systolic of 135 is a warning and 160 an alert; 90 is still a warning and 89 an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import psycopg

from homevitals.contract import Kind


class Level(StrEnum):
    WARNING = "warning"
    ALERT = "alert"


@dataclass(frozen=True, slots=True)
class Thresholds:
    alert_low: float
    warn_low: float
    warn_high: float
    alert_high: float


@dataclass(frozen=True, slots=True)
class Breach:
    level: Level
    direction: str  # "high" or "low"
    limit: float


def classify(value: float, limits: Thresholds) -> Breach | None:
    """Return the worst limit this value breaches, or None when it is within the normal band."""
    if value >= limits.alert_high:
        return Breach(Level.ALERT, "high", limits.alert_high)
    if value < limits.alert_low:
        return Breach(Level.ALERT, "low", limits.alert_low)
    if value >= limits.warn_high:
        return Breach(Level.WARNING, "high", limits.warn_high)
    if value < limits.warn_low:
        return Breach(Level.WARNING, "low", limits.warn_low)
    return None


# Which threshold metrics each kind of reading is checked on, and from which stored column.
METRICS_BY_KIND: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    Kind.BLOOD_PRESSURE: (("systolic", "systolic"), ("diastolic", "diastolic"), ("pulse_rate", "pulse_rate")),
    Kind.WEIGHT: (("weight", "value"),),
    Kind.GLUCOSE: (("glucose", "value"),),
    Kind.TEMPERATURE: (("temperature", "value"),),
    Kind.PULSE_OXIMETRY: (("spo2", "value"), ("pulse_rate", "pulse_rate")),
}

UNITS: Final[dict[str, str]] = {
    "systolic": "mmHg",
    "diastolic": "mmHg",
    "pulse_rate": "/min",
    "weight": "kg",
    "glucose": "mmol/L",
    "temperature": "°C",
    "spo2": "%",
}


@dataclass(frozen=True, slots=True)
class StoredReading:
    """The part of a freshly stored, attributed reading that alerting needs."""

    reading_id: str
    citizen_id: int
    kind: str
    measured_at: datetime
    columns: dict[str, float | None]  # systolic, diastolic, pulse_rate, value


@dataclass(frozen=True, slots=True)
class AlertCandidate:
    citizen_id: int
    metric: str
    level: Level
    reading_id: str
    measured_at: datetime
    value: float
    message: str


def alert_candidates(
    readings: list[StoredReading], thresholds: dict[tuple[int, str], Thresholds]
) -> list[AlertCandidate]:
    """One candidate per (citizen, metric, level): the earliest breaching reading.

    The database's partial unique index then keeps a second one from opening while the first
    is unresolved; deduplicating here keeps one INSERT from proposing the same key twice.
    """
    chosen: dict[tuple[int, str, Level], AlertCandidate] = {}
    for reading in sorted(readings, key=lambda r: r.measured_at):
        for metric, column in METRICS_BY_KIND.get(reading.kind, ()):
            value = reading.columns.get(column)
            limits = thresholds.get((reading.citizen_id, metric))
            if value is None or limits is None:
                continue
            breach = classify(value, limits)
            if breach is None:
                continue
            key = (reading.citizen_id, metric, breach.level)
            if key in chosen:
                continue
            relation = "at or above" if breach.direction == "high" else "below"
            chosen[key] = AlertCandidate(
                citizen_id=reading.citizen_id,
                metric=metric,
                level=breach.level,
                reading_id=reading.reading_id,
                measured_at=reading.measured_at,
                value=value,
                message=(
                    f"{metric} {value:g} {UNITS.get(metric, '')} is {relation} the "
                    f"{breach.level} limit {breach.limit:g}"
                ),
            )
    return sorted(chosen.values(), key=lambda c: (c.citizen_id, c.metric, c.level))


MISSING_METRIC: Final = "measurements"

# Citizens with an assignment active now, assigned devices for at least `days` days, and no
# plausible reading in the last `days` days. The partial unique index keeps it to one
# unresolved alert each, so several workers running the job at once is harmless.
_MISSING_SQL = """
INSERT INTO alerts (citizen_id, alert_type, metric, level, measured_at, message)
SELECT q.id, 'missing_measurements', %(metric)s, 'warning', q.last_at,
       format('no measurement for %%s days (last: %%s)', %(days)s,
              coalesce(to_char(q.last_at AT TIME ZONE q.timezone, 'YYYY-MM-DD HH24:MI'), 'never'))
FROM (
  SELECT c.id, c.timezone,
         (SELECT max(r.measured_at) FROM readings r
          WHERE r.citizen_id = c.id AND r.measured_at <= now()) AS last_at
  FROM citizens c
  WHERE c.active
    AND EXISTS (SELECT 1 FROM device_assignments a WHERE a.citizen_id = c.id AND a.valid @> now())
    AND (SELECT min(lower(a.valid)) FROM device_assignments a WHERE a.citizen_id = c.id)
        <= now() - make_interval(days => %(days)s)
    AND NOT EXISTS (
      SELECT 1 FROM readings r
      WHERE r.citizen_id = c.id AND NOT r.implausible
        AND r.measured_at > now() - make_interval(days => %(days)s) AND r.measured_at <= now())
) q
ORDER BY q.id
ON CONFLICT (citizen_id, metric, level) WHERE state <> 'resolved' DO NOTHING
RETURNING citizen_id
"""


def raise_missing_measurement_alerts(conn: psycopg.Connection[Any], days: int) -> list[int]:
    """Open a 'missing measurements' warning for each citizen who has gone quiet.

    Returns the citizen ids that got a new alert. Runs in its own transaction.
    """
    with conn.transaction():
        rows = conn.execute(_MISSING_SQL, {"metric": MISSING_METRIC, "days": days}).fetchall()
    return [int(row[0]) for row in rows]
