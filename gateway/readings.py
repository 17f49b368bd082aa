"""Decoded GATT measurement + device + clocks -> one contract v1 reading (pure).

The reading id comes from :func:`homevitals.contract.derive_reading_id` and nowhere else.
The result is the contract's own reading model, validated once as it is constructed, and
its JSON, serialised once: that JSON is what the outbox stores and the batch carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from gateway.clock import ClockHistory, ClockReading, MeasuredAt, resolve_measured_at
from gateway.errors import UnsupportedReading
from gatt import (
    BloodPressureMeasurement,
    GattValue,
    GlucoseMeasurement,
    PlxSpotCheckMeasurement,
    TemperatureMeasurement,
    WeightMeasurement,
)
from gatt.blood_pressure import PressureUnit
from gatt.glucose import ConcentrationUnit, SensorStatus
from gatt.health_thermometer import TemperatureUnit
from gatt.reader import code_name, flag_names
from gatt.uuids import CharacteristicUUID
from gatt.weight_scale import WeightUnit
from homevitals.contract import (
    BloodPressureReading,
    BloodPressureStatus,
    BloodPressureValues,
    DeviceInfo,
    GlucoseReading,
    Kind,
    PulseOximetryReading,
    PulseRateRange,
    RawValue,
    Reading,
    TemperatureReading,
    WeightReading,
    derive_reading_id,
)
from homevitals.contract.kinds import KIND_OF_CHARACTERISTIC, KINDS
from homevitals.contract.models import (
    GlucoseStatus,
    GlucoseValues,
    PulseOximetryValues,
    TemperatureStatus,
    TemperatureValues,
    WeightValues,
)

ReadingModel = type[
    BloodPressureReading | WeightReading | GlucoseReading | TemperatureReading | PulseOximetryReading
]
DEVICE_STRING_LIMIT = 64  # contract: device strings are at most 64 characters

# Characteristics whose values are measurements of contract v1 (the session subscribes to
# these): the kind registry's.
MEASUREMENT_UUIDS: frozenset[CharacteristicUUID] = frozenset(
    CharacteristicUUID(uuid) for uuid in KIND_OF_CHARACTERISTIC
)


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What the gateway knows about a device: its identity address and Device Information."""

    address: str
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None

    def to_contract(self) -> DeviceInfo:
        return DeviceInfo(
            address=self.address.upper(),
            manufacturer=_clip(self.manufacturer),
            model=_clip(self.model),
            serial=_clip(self.serial),
            firmware=_clip(self.firmware),
        )


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text[:DEVICE_STRING_LIMIT] or None


@dataclass(frozen=True, slots=True)
class _KindView:
    """The per-kind parts of a reading."""

    model: ReadingModel
    kind: Kind
    original_unit: str | None
    values: BaseModel
    status: BaseModel | None
    device_time: datetime | None
    user_id: int | None
    invalid_values: tuple[str, ...]
    device_clock_not_set: bool = False


def _blood_pressure(m: BloodPressureMeasurement) -> _KindView:
    canonical = m.canonical
    status = None
    if m.status is not None:
        flags = m.status
        status = BloodPressureStatus(
            body_movement=flags.body_movement,
            cuff_fit_loose=flags.cuff_fit_loose,
            irregular_pulse=flags.irregular_pulse,
            pulse_rate_range=PulseRateRange(flags.pulse_rate_range.name.lower()),
            improper_position=flags.improper_position,
        )
    return _KindView(
        model=BloodPressureReading,
        kind=Kind.BLOOD_PRESSURE,
        original_unit=m.unit.value if m.unit is not PressureUnit.MMHG else None,
        values=BloodPressureValues(
            systolic=canonical.systolic,
            diastolic=canonical.diastolic,
            mean_arterial_pressure=canonical.mean_arterial_pressure,
            pulse_rate=m.pulse_rate,
        ),
        status=status,
        device_time=m.timestamp,
        user_id=m.user_id,
        invalid_values=m.invalid_values,
    )


def _weight(m: WeightMeasurement) -> _KindView:
    canonical = m.canonical
    return _KindView(
        model=WeightReading,
        kind=Kind.WEIGHT,
        original_unit=m.unit.value if m.unit is not WeightUnit.KILOGRAM else None,
        values=WeightValues(weight=canonical.weight_kg, bmi=canonical.bmi, height=canonical.height_m),
        status=None,
        device_time=m.timestamp,
        user_id=m.user_id,
        invalid_values=m.invalid_values,
    )


_GLUCOSE_NAMES = {"concentration": "glucose"}
_GLUCOSE_ORIGINAL_UNIT = {ConcentrationUnit.KG_PER_L: "mg/dL", ConcentrationUnit.MOL_PER_L: "mol/L"}


def _glucose(m: GlucoseMeasurement) -> _KindView:
    status = None
    if m.type is not None or m.sensor_status is not None:
        status = GlucoseStatus(
            sample_type=code_name(m.type) if m.type is not None else None,
            sample_location=code_name(m.sample_location) if m.sample_location is not None else None,
            sensor_status=flag_names(int(m.sensor_status), SensorStatus, 16)
            if m.sensor_status is not None else [],
        )
    return _KindView(
        model=GlucoseReading,
        kind=Kind.GLUCOSE,
        original_unit=None if m.concentration_unit is None else _GLUCOSE_ORIGINAL_UNIT[m.concentration_unit],
        values=GlucoseValues(glucose=m.canonical, sequence_number=m.sequence_number),
        status=status,
        device_time=m.measured_at,
        user_id=None,
        invalid_values=tuple(_GLUCOSE_NAMES.get(name, name) for name in m.invalid_values),
    )


def _temperature(m: TemperatureMeasurement) -> _KindView:
    return _KindView(
        model=TemperatureReading,
        kind=Kind.TEMPERATURE,
        original_unit="Fahrenheit" if m.unit is TemperatureUnit.FAHRENHEIT else None,
        values=TemperatureValues(temperature=m.canonical),
        status=TemperatureStatus(temperature_type=code_name(m.temperature_type))
        if m.temperature_type is not None else None,
        device_time=m.timestamp,
        user_id=None,
        invalid_values=m.invalid_values,
    )


def _pulse_oximetry(m: PlxSpotCheckMeasurement) -> _KindView:
    return _KindView(
        model=PulseOximetryReading,
        kind=Kind.PULSE_OXIMETRY,
        original_unit=None,
        values=PulseOximetryValues(spo2=m.spo2, pulse_rate=m.pulse_rate),
        status=None,
        device_time=m.timestamp,
        user_id=None,
        invalid_values=m.invalid_values,
        device_clock_not_set=m.device_clock_not_set,
    )


def _kind_view(measurement: GattValue) -> _KindView:
    # isinstance, not the UUID: IntermediateCuffPressure shares the BP layout but is no measurement.
    if type(measurement) is BloodPressureMeasurement:
        return _blood_pressure(measurement)
    if isinstance(measurement, WeightMeasurement):
        return _weight(measurement)
    if isinstance(measurement, GlucoseMeasurement):
        return _glucose(measurement)
    if type(measurement) is TemperatureMeasurement:
        return _temperature(measurement)
    if isinstance(measurement, PlxSpotCheckMeasurement):
        return _pulse_oximetry(measurement)
    raise UnsupportedReading(int(measurement.UUID), type(measurement).__name__)


@dataclass(frozen=True, slots=True)
class BuiltReading:
    """A contract v1 reading (validated when constructed) and its JSON, serialised once."""

    reading: Reading
    json: str
    timing: MeasuredAt

    @property
    def reading_id(self) -> str:
        return str(self.reading.reading_id)

    @property
    def measured_at(self) -> datetime:
        return self.reading.measured_at


def build_reading(
    measurement: GattValue,
    *,
    raw: bytes,
    device: DeviceIdentity,
    gateway_time: datetime,
    clock: ClockReading | ClockHistory | None,
    zone: ZoneInfo,
    battery_level: int | None = None,
) -> BuiltReading:
    """Turn one decoded measurement into a contract v1 reading.

    ``gateway_time`` is when the bytes arrived (UTC); ``clock`` is the device clock read at
    this connection (and what the gateway set it to), if the device has one. Raises
    :class:`UnsupportedReading` for a characteristic that is not a measurement (intermediate
    cuff pressure, features).
    """
    view = _kind_view(measurement)
    # A device that says its own clock is not set gets no trust in its stamps.
    trusted_time = None if view.device_clock_not_set else view.device_time
    timing = resolve_measured_at(trusted_time, gateway_time, clock, zone)
    uuid = int(measurement.UUID)
    reading_id = derive_reading_id(
        address=device.address,
        user_id=view.user_id,
        device_time=view.device_time,
        gateway_first_seen=gateway_time,
        characteristic_uuid=uuid,
        raw=raw,
    )
    # The kind's own model checks kind, unit, values and status (mypy sees only the union).
    fields: dict[str, Any] = {
        "reading_id": reading_id,
        "kind": view.kind,
        "device": device.to_contract(),
        "user_id": view.user_id,
        "device_time": view.device_time,
        "gateway_time": gateway_time,
        "measured_at": timing.measured_at,
        "time_source": timing.time_source,
        "unit": KINDS[view.kind].unit,  # canonical: the decoders convert to it
        "original_unit": view.original_unit,
        "values": view.values,
        "status": view.status,
        "invalid_values": list(view.invalid_values),
        "battery_level": battery_level,
        "raw": RawValue(uuid=f"{uuid:04x}", hex=raw.hex()),
    }
    reading: Reading = view.model(**fields)
    return BuiltReading(reading=reading, json=reading.model_dump_json(), timing=timing)
