"""Current Time, Date Time, Battery Level, Device Information, UUIDs and the registry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gatt import GATT_VALUE_TYPES, CharacteristicUUID, ServiceUUID, decode_characteristic, normalize_uuid
from gatt.battery import BatteryLevel
from gatt.current_time import AdjustReason, CurrentTime, DateTime, DayOfWeek
from gatt.decoding import DECODERS
from gatt.device_information import (
    FirmwareRevisionString,
    HardwareRevisionString,
    ManufacturerNameString,
    ModelNumberString,
    SerialNumberString,
    SystemId,
)
from gatt.errors import (
    EncodeError,
    InvalidValue,
    TrailingBytes,
    TruncatedPayload,
    UnknownCharacteristic,
)
from gatt.reader import ByteReader, ByteWriter
from gatt.uuids import uuid128

pytestmark = pytest.mark.unit


def test_current_time_for_setting_a_device_clock() -> None:
    # CTS v1.1, 3.1: 2024-03-15 (a Friday) 14:30:45.5 -> fractions256 128; external reference.
    value = CurrentTime.for_datetime(datetime(2024, 3, 15, 14, 30, 45, 500_000))
    payload = bytes(value)
    assert payload == bytes.fromhex("e807030f0e1e2d 05 80 02")
    assert value.day_of_week is DayOfWeek.FRIDAY
    decoded = CurrentTime.from_bytes(payload)
    assert decoded == value
    assert decoded.date_time == datetime(2024, 3, 15, 14, 30, 45)
    assert decoded.to_json_dict() == {
        "date_time": "2024-03-15T14:30:45", "day_of_week": "friday", "fractions256": 128,
        "adjust_reason": ["external_reference_time_update"], "invalid_values": [],
    }


def test_current_time_drops_the_zone_and_keeps_the_wall_clock() -> None:
    value = CurrentTime.for_datetime(datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
                                     adjust_reason=AdjustReason.MANUAL_TIME_UPDATE)
    assert value.date_time == datetime(2024, 1, 1, 12, 0)
    assert bytes(value)[-1] == 0x01


def test_current_time_unknown_and_reserved_bits() -> None:
    payload = bytes.fromhex("00000000000000 00 00 f1")
    value = CurrentTime.from_bytes(payload)
    assert value.date_time is None
    assert value.invalid_values == ("date_time",)
    assert value.adjust_reason == AdjustReason.MANUAL_TIME_UPDATE
    assert value.reserved_flags == 0xF0
    assert value.to_json_dict()["adjust_reason"] == [
        "manual_time_update", "reserved_bit_4", "reserved_bit_5", "reserved_bit_6",
        "reserved_bit_7",
    ]
    assert bytes(value) == payload
    assert CurrentTime.from_bytes(bytes.fromhex("e807030f0e1e2d 09 00 00")).day_of_week == 9
    assert bytes(CurrentTime()) == bytes(10)


def test_current_time_errors() -> None:
    with pytest.raises(TruncatedPayload, match=r"0x2A2B: offset 9: .*the adjust reason"):
        CurrentTime.from_bytes(bytes(9))
    with pytest.raises(TrailingBytes):
        CurrentTime.from_bytes(bytes(11))
    with pytest.raises(ValueError, match="reserved bits"):
        CurrentTime(adjust_reason=AdjustReason(0x10))
    with pytest.raises(ValueError, match="overlaps"):
        CurrentTime(reserved_flags=0x01)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("e80702 1d 0c 00 00", datetime(2024, 2, 29, 12, 0)),
        ("2e06 0a 0f 00 00 00", datetime(1582, 10, 15)),  # first year CTS allows
        ("0000 00 00 0c 00 00", None),  # unknown date (GSS Date Time: 0 = not known)
        ("e707 02 1d 00 00 00", None),  # 2023-02-29 does not exist
        ("e807 0d 01 00 00 00", None),  # month 13 is reserved
        ("e807 01 01 18 00 00", None),  # hour 24 is reserved
        ("2d06 01 01 00 00 00", None),  # 1581 is before the valid range
    ],
)
def test_date_time(payload: str, expected: datetime | None) -> None:
    data = bytes.fromhex(payload)
    value = DateTime.from_bytes(data)
    assert value.to_datetime() == expected
    assert value.invalid_values == (() if expected else ("date_time",))
    assert bytes(value) == data
    assert decode_characteristic(0x2A08, data) == value


def test_date_time_json_and_errors() -> None:
    value = DateTime.for_datetime(datetime(2024, 5, 6, 7, 8, 9))
    assert value.to_json_dict() == {
        "date_time": "2024-05-06T07:08:09", "year": 2024, "month": 5, "day": 6, "hours": 7,
        "minutes": 8, "seconds": 9, "invalid_values": [],
    }
    assert DateTime().is_unknown
    with pytest.raises(TruncatedPayload, match="the seconds of the Date Time"):
        DateTime.from_bytes(bytes(6))


@pytest.mark.parametrize(("level", "percent"), [(0, 0), (87, 87), (100, 100), (101, None),
                                                (255, None)])
def test_battery_level(level: int, percent: int | None) -> None:
    value = BatteryLevel.from_bytes(bytes([level]))
    assert value.percent == percent
    assert value.invalid_values == (() if percent is not None else ("level",))
    assert bytes(value) == bytes([level])
    assert value.to_json_dict() == {"level": percent, "invalid_values": list(value.invalid_values)}


def test_battery_level_errors() -> None:
    with pytest.raises(TruncatedPayload, match="0x2A19"):
        BatteryLevel.from_bytes(b"")
    with pytest.raises(TrailingBytes):
        BatteryLevel.from_bytes(b"\x01\x02")


@pytest.mark.parametrize(
    ("model", "uuid"),
    [
        (ManufacturerNameString, 0x2A29),
        (ModelNumberString, 0x2A24),
        (SerialNumberString, 0x2A25),
        (FirmwareRevisionString, 0x2A26),
        (HardwareRevisionString, 0x2A27),
    ],
)
def test_device_information_strings(model: type[ManufacturerNameString], uuid: int) -> None:
    value = decode_characteristic(uuid, "Ørsted Medical BP-7".encode())
    assert value == model("Ørsted Medical BP-7")
    assert bytes(value) == "Ørsted Medical BP-7".encode()
    assert value.to_json_dict() == {"value": "Ørsted Medical BP-7"}


def test_device_information_string_padding_and_bad_utf8() -> None:
    assert ModelNumberString.from_bytes(b"HEM-7600T\x00\x00").value == "HEM-7600T"
    assert ModelNumberString.from_bytes(b"").value == ""
    with pytest.raises(InvalidValue, match=r"0x2A29: offset 2: expected UTF-8") as caught:
        ManufacturerNameString.from_bytes(b"AB\xff\xfeC")
    assert caught.value.offset == 2
    with pytest.raises(ValueError, match="NUL"):
        SerialNumberString("123\x00")


def test_system_id() -> None:
    # DIS System ID: manufacturer identifier (uint40) then OUI (uint24), little-endian.
    payload = bytes.fromhex("0102030405 ab0000")
    value = SystemId.from_bytes(payload)
    assert value.manufacturer_identifier == 0x0504030201
    assert value.organizationally_unique_identifier == 0x0000AB
    assert bytes(value) == payload
    assert value.to_json_dict() == {
        "manufacturer_identifier": "0504030201", "organizationally_unique_identifier": "0000ab",
    }
    with pytest.raises(TruncatedPayload, match="organizationally unique identifier"):
        SystemId.from_bytes(bytes(7))


def test_uuid_table() -> None:
    assert ServiceUUID.BLOOD_PRESSURE == 0x1810
    assert ServiceUUID.PULSE_OXIMETER == 0x1822
    assert uuid128(CharacteristicUUID.BLOOD_PRESSURE_MEASUREMENT) == \
        "00002a35-0000-1000-8000-00805f9b34fb"
    assert uuid128(ServiceUUID.WEIGHT_SCALE) == "0000181d-0000-1000-8000-00805f9b34fb"
    with pytest.raises(ValueError, match="16-bit"):
        uuid128(0x10000)


@pytest.mark.parametrize(
    "text", ["2a35", "2A35", "0x2A35", " 0x2a35 ", "00002a35-0000-1000-8000-00805f9b34fb",
             "00002A35-0000-1000-8000-00805F9B34FB"],
)
def test_normalize_uuid(text: str) -> None:
    assert normalize_uuid(text) == 0x2A35


@pytest.mark.parametrize(
    "text", ["", "2a3", "12345", "0x", "xyz1", "6e400001-b5a3-f393-e0a9-e50e24dcca9e"],
)
def test_normalize_uuid_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError, match="not a 16-bit Bluetooth UUID"):
        normalize_uuid(text)


def test_registry_covers_every_characteristic_but_requests() -> None:
    assert set(DECODERS) == set(CharacteristicUUID)
    assert len(GATT_VALUE_TYPES) == len(DECODERS)
    assert decode_characteristic("0x2A19", b"\x50") == BatteryLevel(80)
    with pytest.raises(UnknownCharacteristic, match="0x2A37: no decoder") as caught:
        decode_characteristic(0x2A37, b"\x00\x48")
    assert caught.value.uuid == 0x2A37


def test_reader_and_writer_helpers() -> None:
    reader = ByteReader(bytes.fromhex("0102ff"), CharacteristicUUID.BATTERY_LEVEL)
    assert reader.u16("a number") == 0x0201
    assert (reader.offset, reader.remaining) == (2, 1)
    with pytest.raises(EncodeError, match="signed 16-bit"):
        ByteWriter().s16(0x8000, "time_offset")


def test_timestamp_and_its_date_time_may_both_be_given_when_they_agree() -> None:
    moment = datetime(2024, 6, 1, 9, 30)
    value = CurrentTime(date_time=moment, date_time_raw=DateTime.for_datetime(moment))
    assert value.date_time == moment
