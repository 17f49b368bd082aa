"""Health Thermometer Service: temperature measurements and type (HTS v1.0, 3.1-3.3)."""

from __future__ import annotations

from datetime import datetime

import pytest

from gatt import decode_characteristic
from gatt.errors import TrailingBytes, TruncatedPayload
from gatt.health_thermometer import (
    IntermediateTemperature,
    TemperatureMeasurement,
    TemperatureType,
    TemperatureTypeCharacteristic,
    TemperatureUnit,
)
from gatt.ieee11073 import SpecialValue

pytestmark = pytest.mark.unit

# HTS 3.1: flags 0x06 (time stamp, type), 36.4 degC as FLOAT 364e-1 (bytes 6C 01 00 FF),
# 2024-02-29 21:15:00, type 1 (armpit).
CELSIUS_WITH_EVERYTHING = bytes.fromhex("06 6c0100ff e807021d150f00 01")


def test_celsius_with_time_stamp_and_type() -> None:
    m = TemperatureMeasurement.from_bytes(CELSIUS_WITH_EVERYTHING)
    assert m.temperature == 36.4
    assert m.unit is TemperatureUnit.CELSIUS
    assert m.timestamp == datetime(2024, 2, 29, 21, 15, 0)
    assert m.temperature_type is TemperatureType.ARMPIT
    assert m.canonical == 36.4
    assert bytes(m) == CELSIUS_WITH_EVERYTHING
    assert m.to_json_dict() == {
        "unit": "celsius", "temperature": 36.4, "timestamp": "2024-02-29T21:15:00",
        "temperature_type": "armpit", "invalid_values": [],
        "canonical": {"temperature": 36.4, "unit": "celsius"},
    }


def test_fahrenheit_is_converted_to_celsius() -> None:
    # 98.6 degF = 986e-1 (0xFF0003DA) -> 37.0 degC.
    m = TemperatureMeasurement.from_bytes(bytes.fromhex("01 da0300ff"))
    assert (m.temperature, m.unit) == (98.6, TemperatureUnit.FAHRENHEIT)
    assert m.canonical == 37.0


def test_nan_temperature_is_invalid() -> None:
    m = TemperatureMeasurement.from_bytes(bytes.fromhex("00 ffff7f00"))
    assert m.temperature is None
    assert m.invalid_values == ("temperature",)
    assert m.canonical is None
    assert bytes(m) == bytes.fromhex("00ffff7f00")


def test_special_values_and_reserved_flags_round_trip() -> None:
    m = TemperatureMeasurement(None, special_values={"temperature": SpecialValue.NRES},
                               reserved_flags=0xF8, temperature_type=42)
    payload = bytes(m)
    assert payload == bytes.fromhex("fc 00008000 2a")
    decoded = TemperatureMeasurement.from_bytes(payload)
    assert decoded == m
    assert decoded.to_json_dict()["temperature_type"] == "reserved_42"


def test_intermediate_temperature_shares_the_layout() -> None:
    m = IntermediateTemperature.from_bytes(bytes.fromhex("00 6c0100ff"))
    assert m.temperature == 36.4
    assert decode_characteristic(0x2A1E, bytes(m)) == m
    assert m != TemperatureMeasurement.from_bytes(bytes(m))


def test_errors() -> None:
    with pytest.raises(TruncatedPayload, match=r"0x2A1C: offset 1: .*the temperature \(FLOAT\)"):
        TemperatureMeasurement.from_bytes(bytes.fromhex("006c01"))
    with pytest.raises(TruncatedPayload, match="the temperature type"):
        TemperatureMeasurement.from_bytes(bytes.fromhex("046c0100ff"))
    with pytest.raises(TrailingBytes, match="0x2A1E"):
        IntermediateTemperature.from_bytes(bytes.fromhex("006c0100ff01"))
    with pytest.raises(ValueError, match="reserved flag bits"):
        TemperatureMeasurement(36.6, reserved_flags=0x01)


def test_temperature_type_characteristic() -> None:
    value = TemperatureTypeCharacteristic.from_bytes(b"\x09")
    assert value.temperature_type is TemperatureType.TYMPANUM
    assert bytes(value) == b"\x09"
    assert value.to_json_dict() == {"temperature_type": "tympanum"}
    assert TemperatureTypeCharacteristic.from_bytes(b"\x00").temperature_type == 0
    with pytest.raises(TrailingBytes):
        TemperatureTypeCharacteristic.from_bytes(b"\x01\x02")
