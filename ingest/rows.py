"""What validation hands the writer: a readings batch as rows of the staging table.

Both validators build these (ingest/validation.py, the authority, and its accept-only fast
path, ingest/fast_validation.py), so the row shape lives apart from either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from ingest.limits import REAL_MAX


class PreparedReading(NamedTuple):
    """One reading as a row of the writer's staging table (column order = field order)."""

    reading_id: UUID
    measured_at: datetime
    kind: str
    address: str
    user_slot: int | None
    gateway_id: str
    batch_seq: int
    device_time: datetime | None
    gateway_time: datetime
    time_source: str
    unit: str
    original_unit: str | None
    systolic: float | None
    diastolic: float | None
    mean_arterial_pressure: float | None
    pulse_rate: float | None
    value: float | None
    values_json: str
    status_json: str | None
    invalid_values: list[str] | None  # None rather than []: empty arrays cost the COPY most
    implausible: bool
    implausible_reasons: list[str] | None
    clock_in_future: bool
    raw_uuid: str
    raw: bytes
    serial: str | None
    manufacturer: str | None
    model: str | None
    firmware: str | None
    battery_level: int | None


@dataclass(frozen=True, slots=True)
class ValidBatch:
    gateway_id: str
    batch_seq: int
    readings: list[PreparedReading]


def real_column(value: float | None) -> float | None:
    """The value for a ``real`` column: None beyond what it holds (the full value stays in ``values``)."""
    return value if value is None or -REAL_MAX < value < REAL_MAX else None
