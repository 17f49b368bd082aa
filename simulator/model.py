"""Plain data shared by the virtual devices, the schedule and the runner."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


class DeviceKind(enum.StrEnum):
    """The Bluetooth SIG health profiles the simulator implements."""

    BLOOD_PRESSURE = "blood_pressure"
    WEIGHT_SCALE = "weight_scale"
    GLUCOSE = "glucose"
    THERMOMETER = "thermometer"
    PULSE_OXIMETER = "pulse_oximeter"


class FaultKind(enum.StrEnum):
    """What can go wrong with one measurement, as real users report it."""

    NAN = "nan"
    """A failed measurement: the values are the IEEE 11073 special value NaN."""
    ALT_UNIT = "alt_unit"
    """The other unit the profile allows: kPa (BP), lb (scale), mol/L vs kg/L, Fahrenheit."""
    MALFORMED = "malformed"
    """The flags announce fields that the bytes do not contain (truncated payload)."""
    IMPLAUSIBLE = "implausible"
    """Well-formed values outside physiological limits."""


@dataclass(frozen=True)
class Reading:
    """One measurement as the person really took it.

    ``values`` are in canonical units: systolic, diastolic, mean_arterial_pressure (mmHg),
    pulse_rate (1/min), weight (kg), glucose (mmol/L), temperature (degrees Celsius),
    spo2 (%).
    """

    kind: DeviceKind
    taken_at: datetime
    """True time (aware, UTC) at which the measurement was made."""
    values: Mapping[str, float]
    user_slot: int | None = None
    fault: FaultKind | None = None
    citizen: str | None = None


@dataclass(frozen=True)
class StoredRecord:
    """A measurement as the device keeps it in its memory."""

    seq: int
    reading: Reading
    device_time: datetime
    """The device's own clock when it measured (naive, as the device shows it)."""
    payload: bytes = field(repr=False)
    """The exact characteristic value the device sends for this record."""
