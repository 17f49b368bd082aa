"""Blood Pressure Service: golden vectors, flags, errors (BLS v1.1.1, 3.1-3.3)."""

from __future__ import annotations

from datetime import datetime

import pytest

from gatt import decode_characteristic
from gatt.blood_pressure import (
    BloodPressureFeature,
    BloodPressureFeatureFlags,
    BloodPressureMeasurement,
    IntermediateCuffPressure,
    MeasurementStatus,
    PressureUnit,
    PulseRateRange,
)
from gatt.current_time import DateTime
from gatt.errors import DecodeError, EncodeError, TrailingBytes, TruncatedPayload
from gatt.ieee11073 import SpecialValue

pytestmark = pytest.mark.unit

# Real capture, posted with the question "Interpreting Bluetooth BLE Data from Flutter App:
# Understanding Systolic Pressure Values" (mirrored at https://example-a.com/answer/78168365):
# "indication received from 00002a35-...: (0x) DE-F6-F4-16-F3-FF-07-E4-07-01-14-08-2B-00-B2-
# F2-01-80-00"; nRF Connect showed systolic 127.0 mmHg. Flags 0xDE set the reserved bits 6
# and 7, MAP is NaN, values use exponent -1 and the status sets reserved bit 7.
FLUTTER_CAPTURE = bytes.fromhex("DE F6F4 16F3 FF07 E4070114082B00 B2F2 01 8000")

# A failed measurement: NaN (0x07FF) in every value, time stamp, pulse rate and status.
# Layout per BLS 3.1; NaN code per IEEE 11073-20601.
FAILED_MEASUREMENT = bytes.fromhex("16 ff07 ff07 ff07 e4070114082b00 ff07 0000")

# kPa payload built per BLS 3.1 (Flags bit 0 = 1): 16.0/10.7/12.5 kPa as SFLOAT with
# exponent -1, the form kPa devices use (mantissa 160, 107, 125).
KPA_PAYLOAD = bytes.fromhex("01 a0f0 6bf0 7df0")


def test_real_capture_decodes_to_what_nrf_connect_showed() -> None:
    m = BloodPressureMeasurement.from_bytes(FLUTTER_CAPTURE)
    assert m.systolic == 127.0
    assert m.diastolic == 79.0
    assert m.mean_arterial_pressure is None
    assert m.special_values == {"mean_arterial_pressure": SpecialValue.NAN}
    assert m.invalid_values == ("mean_arterial_pressure",)
    assert m.unit is PressureUnit.MMHG
    assert m.timestamp == datetime(2020, 1, 20, 8, 43, 0)
    assert m.pulse_rate == 69.0
    assert m.user_id == 1
    assert m.status == MeasurementStatus(reserved_bits=0x0080)
    assert m.reserved_flags == 0xC0
    # The re-encoding keeps every value, flag and reserved bit; only the SFLOATs become
    # their shortest form (127 instead of 1270e-1).
    again = BloodPressureMeasurement.from_bytes(bytes(m))
    assert again == m
    assert bytes(m) == bytes.fromhex("DE 7F00 4F00 FF07 E4070114082B00 4500 01 8000")


def test_failed_measurement_is_invalid_values_never_2047() -> None:
    m = BloodPressureMeasurement.from_bytes(FAILED_MEASUREMENT)
    assert (m.systolic, m.diastolic, m.mean_arterial_pressure, m.pulse_rate) == (None,) * 4
    assert m.invalid_values == ("systolic", "diastolic", "mean_arterial_pressure", "pulse_rate")
    assert 2047 not in m.to_json_dict().values()
    assert bytes(m) == FAILED_MEASUREMENT


def test_kpa_payload_keeps_the_unit_and_converts_to_mmhg() -> None:
    m = BloodPressureMeasurement.from_bytes(KPA_PAYLOAD)
    assert m.unit is PressureUnit.KPA
    assert (m.systolic, m.diastolic, m.mean_arterial_pressure) == (16.0, 10.7, 12.5)
    canonical = m.canonical
    assert canonical.systolic == pytest.approx(120.00984)
    assert canonical.diastolic == pytest.approx(80.256581)
    assert canonical.mean_arterial_pressure == pytest.approx(93.757688)
    assert m.to_json_dict()["canonical"] == {
        "unit": "mmHg", "systolic": 120.00984, "diastolic": 80.256581,
        "mean_arterial_pressure": 93.757688,
    }


def test_status_word_with_every_bit_set() -> None:
    m = BloodPressureMeasurement.from_bytes(bytes.fromhex("10 7800 5000 6000 ffff"))
    assert m.status == MeasurementStatus(
        body_movement=True, cuff_fit_loose=True, irregular_pulse=True,
        pulse_rate_range=PulseRateRange.RESERVED, improper_position=True,
        reserved_bits=0xFFC0,
    )
    assert m.to_json_dict()["status"] == {
        "body_movement": True, "cuff_fit_loose": True, "irregular_pulse": True,
        "improper_position": True, "pulse_rate_range": "reserved",
    }
    assert bytes(m)[-2:] == b"\xff\xff"


@pytest.mark.parametrize(
    ("bits", "expected"),
    [(0, PulseRateRange.IN_RANGE), (1, PulseRateRange.EXCEEDS_UPPER),
     (2, PulseRateRange.BELOW_LOWER), (3, PulseRateRange.RESERVED)],
)
def test_pulse_rate_range_is_a_two_bit_field(bits: int, expected: PulseRateRange) -> None:
    assert MeasurementStatus.from_int(bits << 3).pulse_rate_range is expected
    assert int(MeasurementStatus(pulse_rate_range=expected)) == bits << 3


def test_reserved_flag_bits_are_ignored_for_parsing_and_kept() -> None:
    m = BloodPressureMeasurement.from_bytes(bytes.fromhex("e0780050006000"))
    assert (m.systolic, m.diastolic, m.mean_arterial_pressure) == (120.0, 80.0, 96.0)
    assert m.reserved_flags == 0xE0
    assert m.timestamp is None
    assert bytes(m) == bytes.fromhex("e0780050006000")


def test_every_optional_field() -> None:
    m = BloodPressureMeasurement(
        120, 80, 93, timestamp=datetime(2024, 3, 1, 7, 30, 5), pulse_rate=61,
        user_id=2, status=MeasurementStatus(irregular_pulse=True),
    )
    payload = bytes(m)
    assert payload == bytes.fromhex("1e 7800 5000 5d00 e8070301071e05 3d00 02 0400")
    assert BloodPressureMeasurement.from_bytes(payload) == m
    assert decode_characteristic(0x2A35, payload) == m


def test_unknown_date_time_is_kept_and_reported() -> None:
    # Date Time with year, month and day 0 = "unknown" (GSS, Date Time).
    m = BloodPressureMeasurement.from_bytes(bytes.fromhex("02 7800 5000 6000 00000000000000"))
    assert m.timestamp is None
    assert m.timestamp_raw == DateTime()
    assert m.invalid_values == ("timestamp",)
    assert m.to_json_dict()["timestamp"] is None
    assert bytes(m) == bytes.fromhex("02 7800 5000 6000 00000000000000")


@pytest.mark.parametrize(
    ("payload", "offset", "field"),
    [
        ("", 0, "the flags"),
        ("00", 1, "the systolic pressure"),
        ("007800", 3, "the diastolic pressure"),
        ("0078005000", 5, "the mean arterial pressure"),
        ("02780050006000e4", 7, "the year of the time stamp"),
        ("02780050006000e4070114082b", 13, "the seconds of the time stamp"),
        ("04780050006000", 7, "the pulse rate"),
        ("08780050006000", 7, "the user ID"),
        ("1078005000600001", 7, "the measurement status"),
    ],
)
def test_truncated_payload_names_the_field_and_offset(payload: str, offset: int,
                                                      field: str) -> None:
    data = bytes.fromhex(payload)
    with pytest.raises(TruncatedPayload) as caught:
        BloodPressureMeasurement.from_bytes(data)
    error = caught.value
    assert (error.uuid, error.offset, error.data) == (0x2A35, offset, data)
    assert field in error.expected
    assert str(error).startswith(f"0x2A35: offset {offset}: expected ")


def test_trailing_bytes_are_refused() -> None:
    with pytest.raises(TrailingBytes, match=r"0x2A35: offset 7: .*1 trailing byte"):
        BloodPressureMeasurement.from_bytes(bytes.fromhex("0078005000600000"))


def test_intermediate_cuff_pressure() -> None:
    icp = IntermediateCuffPressure.for_cuff_pressure(87)
    payload = bytes(icp)
    assert payload == bytes.fromhex("005700ff07ff07")  # diastolic and MAP are NaN (BLS 3.2)
    decoded = IntermediateCuffPressure.from_bytes(payload)
    assert decoded == icp
    assert decoded.current_cuff_pressure == 87.0
    assert decoded.to_json_dict()["kind"] == "intermediate_cuff_pressure"
    # BLS 3.2: diastolic and MAP are unused in 0x2A36; NaN there is the rule, not a failure.
    assert decoded.invalid_values == ()
    assert decoded.diastolic is None and decoded.mean_arterial_pressure is None
    assert decoded != BloodPressureMeasurement.from_bytes(payload)
    with pytest.raises(DecodeError, match=r"0x2A36: offset 1: .*current cuff pressure"):
        IntermediateCuffPressure.from_bytes(b"\x00")


def test_intermediate_cuff_pressure_without_a_pressure_names_only_that_field() -> None:
    # Cuff pressure NaN (0x07FF): the one field 0x2A36 uses failed.
    decoded = IntermediateCuffPressure.from_bytes(bytes.fromhex("00ff07ff07ff07"))
    assert decoded.invalid_values == ("systolic",)
    # The same bytes as a finished measurement: all three pressures should hold values.
    assert BloodPressureMeasurement.from_bytes(bytes.fromhex("00ff07ff07ff07")).invalid_values == (
        "systolic", "diastolic", "mean_arterial_pressure")


def test_special_values_round_trip_exactly() -> None:
    m = BloodPressureMeasurement(
        None, None, 90, pulse_rate=None,
        special_values={"systolic": SpecialValue.POSITIVE_INFINITY,
                        "diastolic": SpecialValue.NRES, "pulse_rate": SpecialValue.RESERVED},
    )
    assert bytes(m) == bytes.fromhex("04fe0700085a000108")
    assert BloodPressureMeasurement.from_bytes(bytes(m)) == m


def test_float_nan_and_infinity_become_special_values() -> None:
    m = BloodPressureMeasurement(float("nan"), float("inf"), 90)
    assert m.systolic is None
    assert m.special_values == {"systolic": SpecialValue.NAN,
                                "diastolic": SpecialValue.POSITIVE_INFINITY}


def test_inconsistent_models_are_refused() -> None:
    with pytest.raises(ValueError, match="special_values marks it"):
        BloodPressureMeasurement(120, 80, 90, special_values={"systolic": SpecialValue.NAN})
    with pytest.raises(ValueError, match="unknown fields"):
        BloodPressureMeasurement(120, 80, 90, special_values={"weight": SpecialValue.NAN})
    with pytest.raises(ValueError, match="reserved flag bits"):
        BloodPressureMeasurement(120, 80, 90, reserved_flags=0x01)
    with pytest.raises(ValueError, match="reserved bits 6-15"):
        MeasurementStatus(reserved_bits=0x01)
    with pytest.raises(ValueError, match="naive"):
        BloodPressureMeasurement(120, 80, 90, timestamp=datetime.fromisoformat(
            "2024-01-01T00:00:00+00:00"))
    with pytest.raises(ValueError, match="disagrees"):
        BloodPressureMeasurement(120, 80, 90, timestamp=datetime(2024, 1, 1),
                                 timestamp_raw=DateTime(2024, 1, 2))


def test_timestamp_is_truncated_to_whole_seconds() -> None:
    m = BloodPressureMeasurement(120, 80, 90, timestamp=datetime(2024, 1, 1, 8, 0, 0, 999_999))
    assert m.timestamp == datetime(2024, 1, 1, 8, 0, 0)
    assert BloodPressureMeasurement.from_bytes(bytes(m)) == m


def test_values_that_do_not_fit_raise_encode_error() -> None:
    with pytest.raises(EncodeError, match="user_id"):
        bytes(BloodPressureMeasurement(120, 80, 90, user_id=256))
    with pytest.raises(EncodeError, match="systolic"):
        bytes(BloodPressureMeasurement(1e12, 80, 90))


def test_blood_pressure_feature() -> None:
    feature = BloodPressureFeature.from_bytes(bytes.fromhex("3f00"))
    assert feature.features == BloodPressureFeatureFlags(0x3F)
    assert feature.reserved_flags == 0
    reserved = BloodPressureFeature.from_bytes(bytes.fromhex("0580"))
    assert reserved.features == (BloodPressureFeatureFlags.BODY_MOVEMENT_DETECTION
                                 | BloodPressureFeatureFlags.IRREGULAR_PULSE_DETECTION)
    assert reserved.reserved_flags == 0x8000
    assert bytes(reserved) == bytes.fromhex("0580")
    assert reserved.to_json_dict() == {
        "features": ["body_movement_detection", "irregular_pulse_detection"],
        "reserved_flags": 0x8000,
    }
    with pytest.raises(ValueError, match="bits 0-5"):
        BloodPressureFeature(BloodPressureFeatureFlags(0x40))
    with pytest.raises(TruncatedPayload):
        BloodPressureFeature.from_bytes(b"\x01")
