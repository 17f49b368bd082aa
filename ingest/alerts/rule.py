"""What every alert rule is: one interface for the rules run per batch and those run on a clock."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import psycopg

from database.alerts import AlertLevel, AlertType


class RuleSchedule(StrEnum):
    """When ingest runs a rule."""

    # In the batch's own transaction, on the readings it stored: an alert commits with them.
    PER_BATCH = "per_batch"
    # Every INGEST_MISSING_CHECK_INTERVAL_S, in a transaction of its own, on no readings.
    PERIODIC = "periodic"


@dataclass(frozen=True, slots=True)
class StoredReading:
    """The part of a freshly stored, attributed, plausible reading that alerting needs."""

    reading_id: str
    citizen_id: int
    kind: str
    measured_at: datetime
    columns: dict[str, float | None]  # systolic, diastolic, pulse_rate, value


@dataclass(frozen=True, slots=True)
class OpenedAlert:
    """An alert a rule opened (not one the partial unique index turned away)."""

    alert_type: AlertType
    level: AlertLevel
    citizen_id: int


class AlertRule(ABC):
    """A rule that opens alerts in the ``alerts`` table.

    Rules insert ``ON CONFLICT (citizen_id, metric, level) WHERE state <> 'resolved' DO
    NOTHING``, so running one twice, or on two workers at once, opens nothing twice.
    """

    alert_type: ClassVar[AlertType]
    schedule: ClassVar[RuleSchedule]

    @abstractmethod
    def open_alerts(
        self, conn: psycopg.Connection[Any], readings: Sequence[StoredReading]
    ) -> list[OpenedAlert]:
        """Open this rule's alerts on ``conn``, inside the caller's transaction.

        ``readings`` are what the batch stored (per-batch rules); a periodic run passes none.
        """
