"""Pulse Oximeter Service (0x1822): spot-check and continuous measurements, PLX Features.

Layouts: Pulse Oximeter Service (PLXS) v1.0.1, 3.1 (PLX Spot-check Measurement), 3.2 (PLX
Continuous Measurement) and 3.3 (PLX Features), with the field definitions of the GATT
Specification Supplement.

PLX Spot-check Measurement::

    flags u8 | SpO2 SFLOAT | PR SFLOAT | [time stamp, Date Time, bit 0]
    | [measurement status u16, bit 1] | [device and sensor status u24, bit 2]
    | [pulse amplitude index SFLOAT, bit 3]        (bit 4: device clock is not set)

PLX Continuous Measurement::

    flags u8 | SpO2 SFLOAT | PR SFLOAT | [SpO2 fast, PR fast, bit 0]
    | [SpO2 slow, PR slow, bit 1] | [measurement status u16, bit 2]
    | [device and sensor status u24, bit 3] | [pulse amplitude index SFLOAT, bit 4]

SpO2 is in %, pulse rate in beats per minute, both already canonical. Reserved flag bits
(5-7) are kept in ``reserved_flags``; reserved status bits stay inside the status
:class:`~enum.IntFlag` values (boundary KEEP). Trailing bytes are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import KEEP, IntFlag
from typing import ClassVar, Self

from gatt.current_time import DateTime, iso, settle_timestamp
from gatt.ieee11073 import DecodedNumber, SpecialValue, settle_special_values
from gatt.reader import ByteReader, ByteWriter, flag_names
from gatt.uuids import CharacteristicUUID


class PlxSpotCheckFlags(IntFlag):
    TIMESTAMP_PRESENT = 0x01
    MEASUREMENT_STATUS_PRESENT = 0x02
    DEVICE_AND_SENSOR_STATUS_PRESENT = 0x04
    PULSE_AMPLITUDE_INDEX_PRESENT = 0x08
    DEVICE_CLOCK_NOT_SET = 0x10


class PlxContinuousFlags(IntFlag):
    SPO2PR_FAST_PRESENT = 0x01
    SPO2PR_SLOW_PRESENT = 0x02
    MEASUREMENT_STATUS_PRESENT = 0x04
    DEVICE_AND_SENSOR_STATUS_PRESENT = 0x08
    PULSE_AMPLITUDE_INDEX_PRESENT = 0x10


_FLAGS_KNOWN = 0x1F


class PlxMeasurementStatus(IntFlag, boundary=KEEP):
    """Measurement Status field of the PLX measurements; bits 0-4 are reserved."""

    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATED_DATA = 1 << 6
    VALIDATED_DATA = 1 << 7
    FULLY_QUALIFIED_DATA = 1 << 8
    DATA_FROM_MEASUREMENT_STORAGE = 1 << 9
    DATA_FOR_DEMONSTRATION = 1 << 10
    DATA_FOR_TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    MEASUREMENT_UNAVAILABLE = 1 << 13
    QUESTIONABLE_MEASUREMENT_DETECTED = 1 << 14
    INVALID_MEASUREMENT_DETECTED = 1 << 15


class PlxDeviceAndSensorStatus(IntFlag, boundary=KEEP):
    """Device and Sensor Status field, 24 bits; bits 16-23 are reserved."""

    EXTENDED_DISPLAY_UPDATE_ONGOING = 1 << 0
    EQUIPMENT_MALFUNCTION_DETECTED = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY_DETECTED = 1 << 2
    INADEQUATE_SIGNAL_DETECTED = 1 << 3
    POOR_SIGNAL_DETECTED = 1 << 4
    LOW_PERFUSION_DETECTED = 1 << 5
    ERRATIC_SIGNAL_DETECTED = 1 << 6
    NONPULSATILE_SIGNAL_DETECTED = 1 << 7
    QUESTIONABLE_PULSE_DETECTED = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE_DETECTED = 1 << 10
    SENSOR_UNCONNECTED_TO_USER = 1 << 11
    UNKNOWN_SENSOR_CONNECTED = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


def _present(model: object, name: str) -> bool:
    return getattr(model, name) is not None or name in getattr(model, "special_values")  # noqa: B009


def _check_reserved(reserved_flags: int) -> None:
    if reserved_flags & ~0xFF or reserved_flags & _FLAGS_KNOWN:
        raise ValueError("reserved_flags must only use the reserved flag bits 5-7 (0xE0)")


def _status_json(model: PlxSpotCheckMeasurement | PlxContinuousMeasurement) -> dict[str, object]:
    status, device = model.measurement_status, model.device_and_sensor_status
    return {
        "measurement_status": flag_names(int(status), PlxMeasurementStatus, 16)
        if status is not None else None,
        "device_and_sensor_status": flag_names(int(device), PlxDeviceAndSensorStatus, 24)
        if device is not None else None,
        "pulse_amplitude_index": model.pulse_amplitude_index,
    }


def _write_status(model: PlxSpotCheckMeasurement | PlxContinuousMeasurement,
                  writer: ByteWriter) -> None:
    if model.measurement_status is not None:
        writer.u16(int(model.measurement_status), "measurement_status")
    if model.device_and_sensor_status is not None:
        writer.u24(int(model.device_and_sensor_status), "device_and_sensor_status")
    if _present(model, "pulse_amplitude_index"):
        writer.sfloat(model.pulse_amplitude_index,
                      model.special_values.get("pulse_amplitude_index"), "pulse_amplitude_index")


def _specials(numbers: Mapping[str, DecodedNumber]) -> dict[str, SpecialValue]:
    return {name: n.special for name, n in numbers.items() if n.special is not None}


def _value(numbers: Mapping[str, DecodedNumber], name: str) -> float | None:
    number = numbers.get(name)
    return number.value if number is not None else None


@dataclass(frozen=True, slots=True)
class PlxSpotCheckMeasurement:
    """PLX Spot-check Measurement (0x2A5E): one SpO2 and pulse-rate reading."""

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.PLX_SPOT_CHECK_MEASUREMENT
    NUMERIC_FIELDS: ClassVar[tuple[str, ...]] = ("spo2", "pulse_rate", "pulse_amplitude_index")

    spo2: float | None
    pulse_rate: float | None
    timestamp: datetime | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_and_sensor_status: PlxDeviceAndSensorStatus | None = None
    pulse_amplitude_index: float | None = None
    device_clock_not_set: bool = False
    reserved_flags: int = 0
    special_values: Mapping[str, SpecialValue] = field(default_factory=dict, hash=False)
    timestamp_raw: DateTime | None = None
    invalid_values: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        _check_reserved(self.reserved_flags)
        specials = settle_special_values(self, self.NUMERIC_FIELDS, ("spo2", "pulse_rate"))
        object.__setattr__(self, "invalid_values", specials + settle_timestamp(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        flags = reader.u8("the flags")
        numbers = {"spo2": reader.sfloat("SpO2"), "pulse_rate": reader.sfloat("the pulse rate")}
        raw_time = status = device = None
        if flags & PlxSpotCheckFlags.TIMESTAMP_PRESENT:
            raw_time = DateTime.read(reader, "the time stamp")
        if flags & PlxSpotCheckFlags.MEASUREMENT_STATUS_PRESENT:
            status = PlxMeasurementStatus(reader.u16("the measurement status"))
        if flags & PlxSpotCheckFlags.DEVICE_AND_SENSOR_STATUS_PRESENT:
            device = PlxDeviceAndSensorStatus(reader.u24("the device and sensor status"))
        if flags & PlxSpotCheckFlags.PULSE_AMPLITUDE_INDEX_PRESENT:
            numbers["pulse_amplitude_index"] = reader.sfloat("the pulse amplitude index")
        reader.finish(f"the fields announced by flags 0x{flags:02X}")
        return cls(
            spo2=_value(numbers, "spo2"),
            pulse_rate=_value(numbers, "pulse_rate"),
            measurement_status=status,
            device_and_sensor_status=device,
            pulse_amplitude_index=_value(numbers, "pulse_amplitude_index"),
            device_clock_not_set=bool(flags & PlxSpotCheckFlags.DEVICE_CLOCK_NOT_SET),
            reserved_flags=flags & ~_FLAGS_KNOWN,
            special_values=_specials(numbers),
            timestamp_raw=raw_time,
        )

    def __bytes__(self) -> bytes:
        flags = PlxSpotCheckFlags(0)
        presence = (
            (self.timestamp_raw is not None, PlxSpotCheckFlags.TIMESTAMP_PRESENT),
            (self.measurement_status is not None, PlxSpotCheckFlags.MEASUREMENT_STATUS_PRESENT),
            (self.device_and_sensor_status is not None,
             PlxSpotCheckFlags.DEVICE_AND_SENSOR_STATUS_PRESENT),
            (_present(self, "pulse_amplitude_index"),
             PlxSpotCheckFlags.PULSE_AMPLITUDE_INDEX_PRESENT),
            (self.device_clock_not_set, PlxSpotCheckFlags.DEVICE_CLOCK_NOT_SET),
        )
        for present, flag in presence:
            if present:
                flags |= flag
        writer = ByteWriter().u8(int(flags) | self.reserved_flags, "flags")
        writer.sfloat(self.spo2, self.special_values.get("spo2"), "spo2")
        writer.sfloat(self.pulse_rate, self.special_values.get("pulse_rate"), "pulse_rate")
        if self.timestamp_raw is not None:
            self.timestamp_raw.write(writer, "timestamp")
        _write_status(self, writer)
        return writer.to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {
            "spo2": self.spo2,
            "pulse_rate": self.pulse_rate,
            "timestamp": iso(self.timestamp),
            "invalid_values": list(self.invalid_values),
        }


@dataclass(frozen=True, slots=True)
class PlxContinuousMeasurement:
    """PLX Continuous Measurement (0x2A5F): normal, and optionally fast and slow, readings.

    A fast or slow pair is present when either of its values is set or special; a missing
    partner is then sent as NaN.
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.PLX_CONTINUOUS_MEASUREMENT
    NUMERIC_FIELDS: ClassVar[tuple[str, ...]] = (
        "spo2", "pulse_rate", "spo2_fast", "pulse_rate_fast", "spo2_slow", "pulse_rate_slow",
        "pulse_amplitude_index",
    )

    spo2: float | None
    pulse_rate: float | None
    spo2_fast: float | None = None
    pulse_rate_fast: float | None = None
    spo2_slow: float | None = None
    pulse_rate_slow: float | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_and_sensor_status: PlxDeviceAndSensorStatus | None = None
    pulse_amplitude_index: float | None = None
    reserved_flags: int = 0
    special_values: Mapping[str, SpecialValue] = field(default_factory=dict, hash=False)
    invalid_values: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        _check_reserved(self.reserved_flags)
        mandatory = ["spo2", "pulse_rate"]
        for pair in (("spo2_fast", "pulse_rate_fast"), ("spo2_slow", "pulse_rate_slow")):
            if any(_present(self, name) for name in pair):
                mandatory.extend(pair)
        specials = settle_special_values(self, self.NUMERIC_FIELDS, mandatory)
        object.__setattr__(self, "invalid_values", specials)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        flags = reader.u8("the flags")
        numbers = {"spo2": reader.sfloat("SpO2"), "pulse_rate": reader.sfloat("the pulse rate")}
        if flags & PlxContinuousFlags.SPO2PR_FAST_PRESENT:
            numbers["spo2_fast"] = reader.sfloat("SpO2 (fast)")
            numbers["pulse_rate_fast"] = reader.sfloat("the pulse rate (fast)")
        if flags & PlxContinuousFlags.SPO2PR_SLOW_PRESENT:
            numbers["spo2_slow"] = reader.sfloat("SpO2 (slow)")
            numbers["pulse_rate_slow"] = reader.sfloat("the pulse rate (slow)")
        status = device = None
        if flags & PlxContinuousFlags.MEASUREMENT_STATUS_PRESENT:
            status = PlxMeasurementStatus(reader.u16("the measurement status"))
        if flags & PlxContinuousFlags.DEVICE_AND_SENSOR_STATUS_PRESENT:
            device = PlxDeviceAndSensorStatus(reader.u24("the device and sensor status"))
        if flags & PlxContinuousFlags.PULSE_AMPLITUDE_INDEX_PRESENT:
            numbers["pulse_amplitude_index"] = reader.sfloat("the pulse amplitude index")
        reader.finish(f"the fields announced by flags 0x{flags:02X}")
        return cls(
            spo2=_value(numbers, "spo2"),
            pulse_rate=_value(numbers, "pulse_rate"),
            spo2_fast=_value(numbers, "spo2_fast"),
            pulse_rate_fast=_value(numbers, "pulse_rate_fast"),
            spo2_slow=_value(numbers, "spo2_slow"),
            pulse_rate_slow=_value(numbers, "pulse_rate_slow"),
            measurement_status=status,
            device_and_sensor_status=device,
            pulse_amplitude_index=_value(numbers, "pulse_amplitude_index"),
            reserved_flags=flags & ~_FLAGS_KNOWN,
            special_values=_specials(numbers),
        )

    def __bytes__(self) -> bytes:
        fast = _present(self, "spo2_fast")
        slow = _present(self, "spo2_slow")
        flags = PlxContinuousFlags(0)
        presence = (
            (fast, PlxContinuousFlags.SPO2PR_FAST_PRESENT),
            (slow, PlxContinuousFlags.SPO2PR_SLOW_PRESENT),
            (self.measurement_status is not None, PlxContinuousFlags.MEASUREMENT_STATUS_PRESENT),
            (self.device_and_sensor_status is not None,
             PlxContinuousFlags.DEVICE_AND_SENSOR_STATUS_PRESENT),
            (_present(self, "pulse_amplitude_index"),
             PlxContinuousFlags.PULSE_AMPLITUDE_INDEX_PRESENT),
        )
        for present, flag in presence:
            if present:
                flags |= flag
        writer = ByteWriter().u8(int(flags) | self.reserved_flags, "flags")
        names = ["spo2", "pulse_rate"]
        names += ["spo2_fast", "pulse_rate_fast"] if fast else []
        names += ["spo2_slow", "pulse_rate_slow"] if slow else []
        for name in names:
            writer.sfloat(getattr(self, name), self.special_values.get(name), name)
        _write_status(self, writer)
        return writer.to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {
            "spo2": self.spo2,
            "pulse_rate": self.pulse_rate,
            "spo2_fast": self.spo2_fast,
            "pulse_rate_fast": self.pulse_rate_fast,
            "spo2_slow": self.spo2_slow,
            "pulse_rate_slow": self.pulse_rate_slow,
            **_status_json(self),
            "invalid_values": list(self.invalid_values),
        }


class PlxSupportedFeatures(IntFlag):
    """Supported Features field of PLX Features (PLXS 3.3); bits 8-15 are reserved."""

    MEASUREMENT_STATUS_SUPPORTED = 1 << 0
    DEVICE_AND_SENSOR_STATUS_SUPPORTED = 1 << 1
    SPOT_CHECK_MEASUREMENT_STORAGE = 1 << 2
    SPOT_CHECK_TIMESTAMP = 1 << 3
    SPO2PR_FAST = 1 << 4
    SPO2PR_SLOW = 1 << 5
    PULSE_AMPLITUDE_INDEX = 1 << 6
    MULTIPLE_BONDS = 1 << 7


_NO_PLX_SUPPORTED_FEATURES = PlxSupportedFeatures(0)


@dataclass(frozen=True, slots=True)
class PlxFeatures:
    """PLX Features (0x2A60): supported features, then the optional support masks.

    ``measurement_status_support`` is present exactly when MEASUREMENT_STATUS_SUPPORTED is
    set, ``device_and_sensor_status_support`` when DEVICE_AND_SENSOR_STATUS_SUPPORTED is.
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.PLX_FEATURES

    features: PlxSupportedFeatures = _NO_PLX_SUPPORTED_FEATURES
    measurement_status_support: PlxMeasurementStatus | None = None
    device_and_sensor_status_support: PlxDeviceAndSensorStatus | None = None
    reserved_flags: int = 0

    def __post_init__(self) -> None:
        if int(self.features) & ~0xFF or self.reserved_flags & ~0xFF00:
            raise ValueError("features holds bits 0-7, reserved_flags bits 8-15")
        status = bool(self.features & PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORTED)
        device = bool(self.features & PlxSupportedFeatures.DEVICE_AND_SENSOR_STATUS_SUPPORTED)
        if status != (self.measurement_status_support is not None):
            raise ValueError("measurement_status_support goes with MEASUREMENT_STATUS_SUPPORTED")
        if device != (self.device_and_sensor_status_support is not None):
            raise ValueError("device_and_sensor_status_support goes with "
                             "DEVICE_AND_SENSOR_STATUS_SUPPORTED")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        raw = reader.u16("the supported features")
        features = PlxSupportedFeatures(raw & 0xFF)
        status = device = None
        if features & PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORTED:
            status = PlxMeasurementStatus(reader.u16("the measurement status support"))
        if features & PlxSupportedFeatures.DEVICE_AND_SENSOR_STATUS_SUPPORTED:
            device = PlxDeviceAndSensorStatus(reader.u24("the device and sensor status support"))
        reader.finish(f"the fields announced by supported features 0x{raw:04X}")
        return cls(features, status, device, raw & 0xFF00)

    def __bytes__(self) -> bytes:
        writer = ByteWriter().u16(int(self.features) | self.reserved_flags, "features")
        if self.measurement_status_support is not None:
            writer.u16(int(self.measurement_status_support), "measurement_status_support")
        if self.device_and_sensor_status_support is not None:
            writer.u24(int(self.device_and_sensor_status_support),
                       "device_and_sensor_status_support")
        return writer.to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        status, device = self.measurement_status_support, self.device_and_sensor_status_support
        return {
            "features": flag_names(int(self.features), PlxSupportedFeatures, 8),
            "measurement_status_support": flag_names(int(status), PlxMeasurementStatus, 16)
            if status is not None else None,
            "device_and_sensor_status_support":
                flag_names(int(device), PlxDeviceAndSensorStatus, 24)
                if device is not None else None,
            "reserved_flags": self.reserved_flags,
        }
