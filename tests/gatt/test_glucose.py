"""Glucose Service: measurement, context, feature and RACP (GLS v1.0.1, 3.1-3.4)."""

from __future__ import annotations

import base64
from datetime import datetime

import pytest

from gatt import decode_characteristic
from gatt.errors import EncodeError, TruncatedPayload
from gatt.glucose import (
    CarbohydrateId,
    ConcentrationUnit,
    GlucoseFeature,
    GlucoseFeatureFlags,
    GlucoseHealth,
    GlucoseMeasurement,
    GlucoseMeasurementContext,
    GlucoseTester,
    GlucoseType,
    Meal,
    MedicationId,
    MedicationUnit,
    SampleLocation,
    SensorStatus,
)
from gatt.ieee11073 import SpecialValue

pytestmark = pytest.mark.unit

# Real capture from a glucose meter, posted in dotintent/react-native-ble-plx issue #652
# ("How to enable RACP to read all measurements on Glucose device?"): base64
# "AwYA5AcEDRAmCgAAeLDx", a reading the poster knew to be 120 (mg/dL). Concentration
# 0xB078 is 120e-5 kg/L = 120 mg/dL; type 1 (capillary whole blood), location 15 (n/a).
RN_BLE_PLX_CAPTURE = base64.b64decode("AwYA5AcEDRAmCgAAeLDx")


def test_real_capture_decodes_to_120_mg_per_dl() -> None:
    m = GlucoseMeasurement.from_bytes(RN_BLE_PLX_CAPTURE)
    assert m.sequence_number == 6
    assert m.base_time == datetime(2020, 4, 13, 16, 38, 10)
    assert m.time_offset == 0
    assert m.concentration == pytest.approx(0.0012)
    assert m.concentration * 100_000 == pytest.approx(120)
    assert m.concentration_unit is ConcentrationUnit.KG_PER_L
    assert m.type is GlucoseType.CAPILLARY_WHOLE_BLOOD
    assert m.sample_location is SampleLocation.NOT_AVAILABLE
    assert m.canonical == 6.660894  # 120 / 18.0156 mmol/L
    assert m.measured_at == datetime(2020, 4, 13, 16, 38, 10)
    assert GlucoseMeasurement.from_bytes(bytes(m)) == m


def test_mol_per_l_sensor_status_and_context_follows() -> None:
    m = GlucoseMeasurement(
        sequence_number=0x0102, base_time=datetime(2024, 5, 6, 7, 8, 9), time_offset=-30,
        concentration=0.0055, concentration_unit=ConcentrationUnit.MOL_PER_L,
        type=GlucoseType.VENOUS_PLASMA, sample_location=SampleLocation.FINGER,
        sensor_status=SensorStatus.DEVICE_BATTERY_LOW | SensorStatus.TIME_FAULT,
        context_follows=True,
    )
    payload = bytes(m)
    # flags 0x1F; seq 0x0102; 2024-05-06 07:08:09; offset -30; 55e-4 mol/L; 0x14; 0x0801.
    assert payload == bytes.fromhex("1f 0201 e8070506070809 e2ff 37c0 14 0108")
    assert GlucoseMeasurement.from_bytes(payload) == m
    assert m.canonical == 5.5
    assert m.measured_at == datetime(2024, 5, 6, 6, 38, 9)
    assert m.to_json_dict()["sensor_status"] == ["device_battery_low", "time_fault"]


def test_reserved_codes_flags_and_status_bits_are_kept() -> None:
    # flags 0xEA: concentration + sensor status, reserved bits 5-7; type 11 and location 6 are
    # reserved codes; sensor status sets reserved bit 15.
    payload = bytes.fromhex("ea 0100 00000000000000 ff07 6b 0080")
    m = GlucoseMeasurement.from_bytes(payload)
    assert m.reserved_flags == 0xE0
    assert (m.type, m.sample_location) == (11, 6)
    assert m.concentration is None
    assert m.invalid_values == ("concentration", "base_time")
    assert m.base_time is None
    json = m.to_json_dict()
    assert (json["type"], json["sample_location"]) == ("reserved_11", "reserved_6")
    assert json["sensor_status"] == ["reserved_bit_15"]
    assert json["canonical"] == {"concentration": None, "unit": "mmol/L"}
    assert m.measured_at is None
    assert bytes(m) == payload
    late = GlucoseMeasurement(1, base_time=datetime(9999, 12, 31, 23, 0), time_offset=120)
    assert late.measured_at is None


def test_glucose_measurement_errors() -> None:
    with pytest.raises(TruncatedPayload, match=r"0x2A18: offset 10: .*the time offset"):
        GlucoseMeasurement.from_bytes(bytes.fromhex("010100e8070506070809"))
    with pytest.raises(TruncatedPayload, match="the type-sample location"):
        GlucoseMeasurement.from_bytes(bytes.fromhex("020100e80705060708097800"))
    with pytest.raises(ValueError, match="together"):
        GlucoseMeasurement(1, type=GlucoseType.CAPILLARY_PLASMA)
    with pytest.raises(ValueError, match="needs its type"):
        GlucoseMeasurement(1, concentration=0.001)
    with pytest.raises(ValueError, match="reserved flag bits"):
        GlucoseMeasurement(1, reserved_flags=0x04)
    with pytest.raises(EncodeError, match="4 bits"):
        bytes(GlucoseMeasurement(1, concentration=0.001, type=16, sample_location=1))
    with pytest.raises(EncodeError, match="sequence_number"):
        bytes(GlucoseMeasurement(70000))


def test_concentration_defaults_to_nan_when_type_is_given() -> None:
    m = GlucoseMeasurement(1, type=GlucoseType.CAPILLARY_PLASMA,
                           sample_location=SampleLocation.FINGER)
    assert m.special_values == {"concentration": SpecialValue.NAN}
    assert bytes(m)[10:12] == b"\xff\x07"


def test_measurement_context_with_every_field() -> None:
    context = GlucoseMeasurementContext(
        sequence_number=6, extended_flags=0, carbohydrate_id=CarbohydrateId.BREAKFAST,
        carbohydrate=0.05, meal=Meal.POSTPRANDIAL, tester=GlucoseTester.SELF,
        health=GlucoseHealth.NO_HEALTH_ISSUES, exercise_duration=1800, exercise_intensity=60,
        medication_id=MedicationId.RAPID_ACTING_INSULIN, medication=0.004,
        medication_unit=MedicationUnit.LITRES, hba1c=6.5,
    )
    payload = bytes(context)
    # GLS 3.2: flags 0xFF, seq 6, extended flags 0, carbohydrate (id 1, 5e-2), meal 2,
    # tester-health 0x51, exercise 1800 s at 60 %, medication (id 1, 4e-3 L), HbA1c 65e-1.
    assert payload == bytes.fromhex("ff 0600 00 01 05e0 02 51 0807 3c 01 04d0 41f0")
    assert GlucoseMeasurementContext.from_bytes(payload) == context
    assert decode_characteristic(0x2A34, payload) == context
    json = context.to_json_dict()
    assert (json["meal"], json["tester"], json["health"]) == (
        "postprandial", "self", "no_health_issues")
    assert json["medication_unit"] == "L"


def test_minimal_context_and_special_values() -> None:
    assert GlucoseMeasurementContext.from_bytes(bytes.fromhex("000700")) == \
        GlucoseMeasurementContext(7)
    m = GlucoseMeasurementContext.from_bytes(bytes.fromhex("41070009ff070208"))
    assert m.carbohydrate_id == 9  # reserved code, kept
    assert m.invalid_values == ("carbohydrate", "hba1c")
    assert m.special_values == {"carbohydrate": SpecialValue.NAN,
                                "hba1c": SpecialValue.NEGATIVE_INFINITY}
    assert bytes(m) == bytes.fromhex("41070009ff070208")


def test_context_errors() -> None:
    with pytest.raises(TruncatedPayload, match=r"0x2A34: offset 3: .*the carbohydrate ID"):
        GlucoseMeasurementContext.from_bytes(bytes.fromhex("010700"))
    with pytest.raises(ValueError, match="sent together"):
        GlucoseMeasurementContext(1, tester=GlucoseTester.SELF)
    with pytest.raises(ValueError, match="needs medication_id"):
        GlucoseMeasurementContext(1, medication=0.5)
    with pytest.raises(EncodeError, match="tester and health"):
        bytes(GlucoseMeasurementContext(1, tester=16, health=1))


def test_glucose_feature() -> None:
    feature = GlucoseFeature.from_bytes(bytes.fromhex("ff87"))
    assert feature.features == GlucoseFeatureFlags(0x07FF)
    assert feature.reserved_flags == 0x8000
    assert bytes(feature) == bytes.fromhex("ff87")
    assert "multiple_bond" in feature.to_json_dict()["features"]  # type: ignore[operator]
    with pytest.raises(ValueError, match="bits 0-10"):
        GlucoseFeature(reserved_flags=0x01)
