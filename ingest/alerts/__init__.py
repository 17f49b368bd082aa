"""Alert rules (docs/ingest.md#alerts): each an :class:`AlertRule`, run per batch or on a clock.

- :class:`ThresholdRule` (per batch): a stored reading outside its citizen's thresholds;
- :class:`MissingMeasurementsRule` (periodic): a citizen with no plausible reading for days.

A new rule subclasses :class:`AlertRule`, gets an :class:`AlertType` (and the migration that
widens ``alerts.alert_type``'s CHECK), and joins :func:`batch_rules` or :func:`periodic_rules`.
"""

from __future__ import annotations

from typing import Any

import psycopg

from database.alerts import AlertLevel, AlertType
from ingest.alerts.missing import MISSING_METRIC, MissingMeasurementsRule
from ingest.alerts.rule import AlertRule, OpenedAlert, RuleSchedule, StoredReading
from ingest.alerts.thresholds import (
    METRICS_BY_KIND,
    AlertCandidate,
    Breach,
    Direction,
    Level,
    ThresholdLevel,
    ThresholdRule,
    Thresholds,
    alert_candidates,
    as_stored_real,
    classify,
    threshold_level,
)


def batch_rules() -> tuple[AlertRule, ...]:
    """The rules the writer runs in each batch's transaction."""
    return (ThresholdRule(),)


def periodic_rules(*, missing_measurement_days: int) -> tuple[AlertRule, ...]:
    """The rules a worker runs every INGEST_MISSING_CHECK_INTERVAL_S."""
    return (MissingMeasurementsRule(days=missing_measurement_days),)


def run_periodic(conn: psycopg.Connection[Any], rules: tuple[AlertRule, ...]) -> list[OpenedAlert]:
    """Run periodic rules, each in a transaction of its own; return what they opened."""
    opened: list[OpenedAlert] = []
    for rule in rules:
        with conn.transaction():
            opened += rule.open_alerts(conn, ())
    return opened


__all__ = [
    "METRICS_BY_KIND",
    "MISSING_METRIC",
    "AlertCandidate",
    "AlertLevel",
    "AlertRule",
    "AlertType",
    "Breach",
    "Direction",
    "Level",
    "MissingMeasurementsRule",
    "OpenedAlert",
    "RuleSchedule",
    "StoredReading",
    "ThresholdLevel",
    "ThresholdRule",
    "Thresholds",
    "alert_candidates",
    "as_stored_real",
    "batch_rules",
    "classify",
    "periodic_rules",
    "run_periodic",
    "threshold_level",
]
