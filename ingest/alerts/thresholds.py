"""The threshold rule: classify a value against a citizen's thresholds (pure), and open alerts.

Levels follow ``alert_low < warn_low < warn_high < alert_high`` with the same boundary rule
as the dashboards (migration 0004, ``grafana.threshold_level``; the two are held to the same
answers by tests/ingest/test_threshold_agreement.py): upper limits count from the limit
itself (ESH: a home BP of 135/85 or more is raised), lower limits below it. So a systolic of
135 is a warning and 160 an alert; 90 is still a warning and 89 an alert.

Both compare the numbers the database holds. Thresholds and the blood-pressure columns are
``real``: SQL promotes a ``real`` 0.1 exactly, to 0.10000000149011612, while psycopg reads it
as its shortest decimal, 0.1. So a ``real`` number is compared here as :func:`as_stored_real`
makes it, and a reading of exactly 0.1 against a lower limit of 0.1 is below it on both sides.

Which metrics a kind is checked on, their units and stored columns are the kind registry's
(homevitals/contract/kinds.py).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Final, NamedTuple

import psycopg

from database.alerts import AlertLevel, AlertType
from homevitals.contract.kinds import KINDS_BY_NAME, METRICS_BY_NAME, OWN_COLUMNS
from ingest.alerts.rule import AlertRule, OpenedAlert, RuleSchedule, StoredReading
from ingest.packing import packed

Level = AlertLevel  # the name the rest of ingest has always used


class ThresholdLevel(StrEnum):
    """A value's level, as ``grafana.threshold_level`` names it (the dashboards' colours)."""

    NORMAL = "normal"
    WARNING = "warning"
    ALERT = "alert"


class Direction(StrEnum):
    HIGH = "high"
    LOW = "low"


_REAL: Final = struct.Struct("<f")


def as_stored_real(value: float) -> float:
    """The number a PostgreSQL ``real`` holding ``value`` is to SQL (IEEE single precision)."""
    stored: float = _REAL.unpack(_REAL.pack(value))[0]
    return stored


# The ``values`` columns of ``readings`` that are ``real`` (migration 0001); ``value`` is double.
REAL_COLUMNS: Final = OWN_COLUMNS


@dataclass(frozen=True, slots=True)
class Thresholds:
    alert_low: float
    warn_low: float
    warn_high: float
    alert_high: float

    def as_stored(self) -> Thresholds:
        """These limits as the ``real`` columns of ``thresholds`` hold them."""
        return Thresholds(
            as_stored_real(self.alert_low),
            as_stored_real(self.warn_low),
            as_stored_real(self.warn_high),
            as_stored_real(self.alert_high),
        )


class Breach(NamedTuple):  # a tuple: built for every breaching reading, a dataclass costs 3x
    level: AlertLevel
    direction: Direction
    limit: float


def classify(value: float, limits: Thresholds) -> Breach | None:
    """Return the worst limit this value breaches, or None when it is within the normal band."""
    if value >= limits.alert_high:
        return Breach(AlertLevel.ALERT, Direction.HIGH, limits.alert_high)
    if value < limits.alert_low:
        return Breach(AlertLevel.ALERT, Direction.LOW, limits.alert_low)
    if value >= limits.warn_high:
        return Breach(AlertLevel.WARNING, Direction.HIGH, limits.warn_high)
    if value < limits.warn_low:
        return Breach(AlertLevel.WARNING, Direction.LOW, limits.warn_low)
    return None


def threshold_level(
    value: float | None, limits: Thresholds | None, *, value_is_real: bool
) -> ThresholdLevel | None:
    """``grafana.threshold_level`` in Python: None without a value or without thresholds.

    ``limits`` are thresholds as read from the database; ``value_is_real`` says the value was
    read from a ``real`` column too (the blood-pressure ones), not a ``double precision`` one.
    """
    if value is None or limits is None:
        return None
    breach = classify(as_stored_real(value) if value_is_real else value, limits.as_stored())
    return ThresholdLevel.NORMAL if breach is None else ThresholdLevel(breach.level)


# kind -> (threshold metric, stored column) pairs it is checked on, from the registry.
METRICS_BY_KIND: Final[Mapping[str, tuple[tuple[str, str], ...]]] = MappingProxyType({
    name: tuple((metric.name, info.stored_column(metric.name)) for metric in info.alert_metrics)
    for name, info in KINDS_BY_NAME.items()
})


@dataclass(frozen=True, slots=True)
class AlertCandidate:
    citizen_id: int
    metric: str
    level: AlertLevel
    reading_id: str
    measured_at: datetime
    value: float
    message: str


def alert_candidates(
    readings: Sequence[StoredReading], thresholds: Mapping[tuple[int, str], Thresholds]
) -> list[AlertCandidate]:
    """One candidate per (citizen, metric, level): the earliest breaching reading.

    The database's partial unique index then keeps a second one from opening while the first
    is unresolved; deduplicating here keeps one INSERT from proposing the same key twice.
    """
    chosen: dict[tuple[int, str, AlertLevel], AlertCandidate] = {}
    # As the database holds them; converted once per citizen and metric, not once per reading.
    stored: dict[tuple[int, str], Thresholds] = {}
    for reading in sorted(readings, key=lambda r: r.measured_at):
        for metric, column in METRICS_BY_KIND.get(reading.kind, ()):
            value = reading.columns.get(column)
            key_limits = (reading.citizen_id, metric)
            limits = stored.get(key_limits)
            if limits is None:
                given = thresholds.get(key_limits)
                if given is None:
                    continue
                limits = stored[key_limits] = given.as_stored()
            if value is None:
                continue
            compared = as_stored_real(value) if column in REAL_COLUMNS else value
            breach = classify(compared, limits)
            if breach is None:
                continue
            key = (reading.citizen_id, metric, breach.level)
            if key in chosen:
                continue
            relation = "at or above" if breach.direction is Direction.HIGH else "below"
            chosen[key] = AlertCandidate(
                citizen_id=reading.citizen_id,
                metric=metric,
                level=breach.level,
                reading_id=reading.reading_id,
                measured_at=reading.measured_at,
                value=value,
                message=(
                    f"{metric} {value:g} {METRICS_BY_NAME[metric].unit} is {relation} the "
                    f"{breach.level} limit {breach.limit:g}"
                ),
            )
    return sorted(chosen.values(), key=lambda c: (c.citizen_id, c.metric, c.level))


_THRESHOLDS = """
SELECT citizen_id, metric, alert_low, warn_low, warn_high, alert_high
FROM effective_thresholds
WHERE citizen_id = ANY(string_to_array(%s, chr(31))::bigint[]) AND metric = ANY(string_to_array(%s, chr(31)))
"""

_INSERT_ALERTS = """
INSERT INTO alerts (citizen_id, alert_type, metric, level, reading_id, measured_at, value, message)
SELECT c, %s::text, m, l, r, t, v, msg
FROM unnest(string_to_array(%s, chr(31))::bigint[], string_to_array(%s, chr(31)),
            string_to_array(%s, chr(31)), string_to_array(%s, chr(31))::uuid[],
            string_to_array(%s, chr(31))::timestamptz[], string_to_array(%s, chr(31))::float8[],
            string_to_array(%s, chr(31))) AS x(c, m, l, r, t, v, msg)
ORDER BY c, m, l
ON CONFLICT (citizen_id, metric, level) WHERE state <> 'resolved' DO NOTHING
RETURNING citizen_id, level
"""


class ThresholdRule(AlertRule):
    """Per batch: a stored reading outside its citizen's thresholds opens a threshold alert."""

    alert_type: ClassVar[AlertType] = AlertType.THRESHOLD
    schedule: ClassVar[RuleSchedule] = RuleSchedule.PER_BATCH

    def open_alerts(
        self, conn: psycopg.Connection[Any], readings: Sequence[StoredReading]
    ) -> list[OpenedAlert]:
        if not readings:
            return []
        citizens = sorted({r.citizen_id for r in readings})
        metrics = sorted({metric for r in readings for metric, _ in METRICS_BY_KIND.get(r.kind, ())})
        rows = conn.execute(_THRESHOLDS, (packed(citizens), packed(metrics))).fetchall()
        thresholds = {(row[0], row[1]): Thresholds(row[2], row[3], row[4], row[5]) for row in rows}
        candidates = alert_candidates(readings, thresholds)
        if not candidates:
            return []
        opened = conn.execute(_INSERT_ALERTS, (str(self.alert_type), *_alert_columns(candidates))).fetchall()
        return [OpenedAlert(self.alert_type, AlertLevel(level), int(citizen)) for citizen, level in opened]


def _alert_columns(candidates: list[AlertCandidate]) -> tuple[str, ...]:
    return (
        packed(c.citizen_id for c in candidates),
        packed(c.metric for c in candidates),
        packed(c.level for c in candidates),
        packed(c.reading_id for c in candidates),
        packed(c.measured_at.isoformat() for c in candidates),
        packed(repr(c.value) for c in candidates),
        packed(c.message for c in candidates),
    )
