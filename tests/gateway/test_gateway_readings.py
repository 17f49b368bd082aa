"""Decoded GATT values -> contract v1 readings: ids, units, invalid values, time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.clock import ClockReading
from gateway.errors import UnsupportedReading
from gateway.readings import DeviceIdentity, build_reading
from gatt import (
    BloodPressureMeasurement,
    GlucoseMeasurement,
    IntermediateCuffPressure,
    PlxSpotCheckMeasurement,
    TemperatureMeasurement,
    WeightMeasurement,
    decode_characteristic,
)
from gatt.blood_pressure import PressureUnit
from gatt.glucose import ConcentrationUnit, GlucoseType, SampleLocation
from gatt.health_thermometer import TemperatureUnit
from gatt.weight_scale import WeightUnit
from homevitals.contract import ReadingsBatch, TimeSource

pytestmark = pytest.mark.unit

CPH = ZoneInfo("Europe/Copenhagen")
DEVICE = DeviceIdentity("a4:c1:38:00:11:22", manufacturer="A&D Medical", model="UA-651BLE",
                        serial="5081234", firmware="1.2")
NOW = datetime(2026, 11, 29, 8, 58, 4, 512000, tzinfo=UTC)


def build(raw: bytes, uuid: int, *, clock: ClockReading | None = None, now: datetime = NOW, **kwargs):
    return build_reading(decode_characteristic(uuid, raw), raw=raw, device=DEVICE, gateway_time=now,
                         clock=clock, zone=CPH, **kwargs)


def wire(reading) -> dict:
    """The reading as the outbox stores it and the batch carries it."""
    return json.loads(reading.json)


def as_batch(*readings) -> ReadingsBatch:
    body = ReadingsBatch.compose_json(gateway_id="gw-0042", batch_seq=1,
                                      sent_at=datetime(2026, 11, 29, 10, 0, 3, 120000, tzinfo=UTC),
                                      readings_json=[r.json for r in readings])
    batch = ReadingsBatch.model_validate_json(body)
    assert batch.to_json_bytes() == body  # composed exactly as the model serialises itself
    return batch


def test_design_example_reading(readings_schema_validator):
    raw = bytes.fromhex("1e800052006100ea070b1d093a004000010000")
    # The device clock is right (09:58 wall time = 08:58 UTC), read at connection.
    clock = ClockReading(datetime(2026, 11, 29, 9, 58, 2), NOW - timedelta(seconds=2.512), CPH, fraction_s=0)
    reading = build(raw, 0x2A35, clock=clock, battery_level=80)
    payload = wire(reading)
    # The id documented in docs/contract.md for exactly this record.
    assert payload["reading_id"] == "851e2ae4-13b6-5a23-a830-c05499c871c8"
    assert payload["device"]["address"] == "A4:C1:38:00:11:22"
    assert payload["values"] == {"systolic": 128.0, "diastolic": 82.0, "mean_arterial_pressure": 97.0,
                                 "pulse_rate": 64.0}
    assert payload["device_time"] == "2026-11-29T09:58:00"
    assert payload["measured_at"] == "2026-11-29T08:58:00Z"
    assert payload["time_source"] == TimeSource.DEVICE.value
    assert payload["status"]["pulse_rate_range"] == "in_range"
    assert payload["raw"] == {"uuid": "2a35", "hex": raw.hex()}
    assert payload["battery_level"] == 80
    batch = as_batch(reading)
    readings_schema_validator.validate(json.loads(batch.to_json_bytes()))


def test_failed_measurement_is_flagged_never_2047():
    raw = bytes.fromhex("1eff07ff07ff07ea070b1d093a00ff07010000")
    reading = build(raw, 0x2A35)
    values = wire(reading)["values"]
    assert values == {"systolic": None, "diastolic": None, "mean_arterial_pressure": None, "pulse_rate": None}
    assert set(wire(reading)["invalid_values"]) == {"systolic", "diastolic", "mean_arterial_pressure",
                                                      "pulse_rate"}
    assert "2047" not in reading.json
    as_batch(reading)


def test_kpa_is_converted_and_the_original_unit_kept():
    measurement = BloodPressureMeasurement(16.0, 10.7, 12.4, unit=PressureUnit.KPA, pulse_rate=70)
    reading = build(bytes(measurement), 0x2A35)
    assert wire(reading)["unit"] == "mmHg"
    assert wire(reading)["original_unit"] == "kPa"
    assert wire(reading)["values"]["systolic"] == pytest.approx(120.0, abs=0.01)
    assert wire(reading)["time_source"] == "gateway"  # no timestamp in this record
    assert wire(reading)["measured_at"] == "2026-11-29T08:58:04.512000Z"


def test_same_record_read_again_gets_the_same_id_but_unstamped_ones_do_not():
    stamped = bytes(BloodPressureMeasurement(120, 80, 93, timestamp=datetime(2026, 11, 29, 9, 0)))
    first = build(stamped, 0x2A35)
    again = build(stamped, 0x2A35, now=NOW + timedelta(days=3))
    assert first.reading_id == again.reading_id
    unstamped = bytes(BloodPressureMeasurement(120, 80, 93))
    assert build(unstamped, 0x2A35).reading_id != build(unstamped, 0x2A35, now=NOW + timedelta(seconds=1)).reading_id


def test_wrong_clock_is_corrected_and_device_time_kept_verbatim():
    # The clock is 3 h fast; the record was made 20 minutes before the clock was read.
    clock = ClockReading(datetime(2026, 11, 29, 12, 58, 4), NOW, CPH, fraction_s=0)
    raw = bytes(BloodPressureMeasurement(131, 85, 100, timestamp=datetime(2026, 11, 29, 12, 38, 4)))
    reading = build(raw, 0x2A35, clock=clock, now=NOW + timedelta(seconds=1))
    assert wire(reading)["device_time"] == "2026-11-29T12:38:04"
    assert wire(reading)["time_source"] == "device_corrected"
    assert wire(reading)["measured_at"] == "2026-11-29T08:38:05Z"  # 20 min before the read, to 1 s


def test_unset_clock_yields_gateway_time_and_keeps_the_2000_stamp():
    clock = ClockReading(datetime(2000, 1, 1, 0, 20), NOW, CPH)
    raw = bytes(BloodPressureMeasurement(118, 77, 90, timestamp=datetime(2000, 1, 1, 0, 5)))
    reading = build(raw, 0x2A35, clock=clock)
    assert wire(reading)["device_time"] == "2000-01-01T00:05:00"
    assert wire(reading)["time_source"] == "gateway"
    assert wire(reading)["measured_at"] == "2026-11-29T08:58:04.512000Z"


def test_weight_in_pounds():
    raw = bytes(WeightMeasurement(154.32, unit=WeightUnit.POUND, user_id=2))
    reading = build(raw, 0x2A9D)
    assert wire(reading)["kind"] == "weight"
    assert wire(reading)["unit"] == "kg"
    assert wire(reading)["original_unit"] == "lb"
    assert wire(reading)["values"]["weight"] == pytest.approx(70.0, abs=0.01)
    assert wire(reading)["user_id"] == 2
    as_batch(reading)


def test_failed_weighing():
    reading = build(bytes(WeightMeasurement(None)), 0x2A9D)
    assert wire(reading)["values"]["weight"] is None
    assert wire(reading)["invalid_values"] == ["weight"]


def test_glucose_mg_dl_and_sequence_number():
    measurement = GlucoseMeasurement(
        sequence_number=17, base_time=datetime(2026, 11, 29, 9, 0), time_offset=5,
        concentration=0.000990, concentration_unit=ConcentrationUnit.KG_PER_L,
        type=GlucoseType.CAPILLARY_WHOLE_BLOOD, sample_location=SampleLocation.FINGER,
    )
    reading = build(bytes(measurement), 0x2A18)
    assert wire(reading)["kind"] == "glucose"
    assert wire(reading)["values"]["sequence_number"] == 17
    assert wire(reading)["values"]["glucose"] == pytest.approx(5.5, abs=0.01)
    assert wire(reading)["original_unit"] == "mg/dL"
    assert wire(reading)["device_time"] == "2026-11-29T09:05:00"
    assert wire(reading)["status"]["sample_type"] == "capillary_whole_blood"
    as_batch(reading)


def test_glucose_nan_is_named_glucose():
    measurement = GlucoseMeasurement(
        sequence_number=3, base_time=datetime(2026, 11, 29, 9, 0), concentration=None,
        type=GlucoseType.CAPILLARY_PLASMA, sample_location=SampleLocation.FINGER,
    )
    reading = build(bytes(measurement), 0x2A18)
    assert wire(reading)["values"]["glucose"] is None
    assert wire(reading)["invalid_values"] == ["glucose"]


def test_temperature_in_fahrenheit():
    raw = bytes(TemperatureMeasurement(98.6, unit=TemperatureUnit.FAHRENHEIT))
    reading = build(raw, 0x2A1C)
    assert wire(reading)["unit"] == "Cel"
    assert wire(reading)["original_unit"] == "Fahrenheit"
    assert wire(reading)["values"]["temperature"] == pytest.approx(37.0, abs=0.01)
    as_batch(reading)


def test_pulse_oximeter_that_says_its_clock_is_not_set():
    raw = bytes(PlxSpotCheckMeasurement(97, 64, timestamp=datetime(2026, 11, 29, 9, 50),
                                        device_clock_not_set=True))
    reading = build(raw, 0x2A5E)
    assert wire(reading)["values"] == {"spo2": 97.0, "pulse_rate": 64.0}
    assert wire(reading)["device_time"] == "2026-11-29T09:50:00"
    assert wire(reading)["time_source"] == "gateway"
    as_batch(reading)


def test_intermediate_cuff_pressure_is_not_a_reading():
    raw = bytes(IntermediateCuffPressure.for_cuff_pressure(95))
    with pytest.raises(UnsupportedReading):
        build(raw, 0x2A36)


def test_long_device_strings_are_clipped_to_the_contract_limit():
    device = DeviceIdentity("A4:C1:38:00:11:22", model="M" * 100, serial="  ")
    raw = bytes(BloodPressureMeasurement(120, 80, 93))
    reading = build_reading(decode_characteristic(0x2A35, raw), raw=raw, device=device, gateway_time=NOW,
                            clock=None, zone=CPH)
    assert wire(reading)["device"]["model"] == "M" * 64
    assert wire(reading)["device"]["serial"] is None
