"""Device behaviour without the radio: payloads, faults, clocks and memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gatt.blood_pressure import BloodPressureMeasurement, PressureUnit
from gatt.errors import DecodeError
from gatt.glucose import GlucoseMeasurement
from gatt.health_thermometer import TemperatureMeasurement, TemperatureUnit
from gatt.pulse_oximeter import PlxSpotCheckMeasurement
from gatt.weight_scale import WeightMeasurement, WeightUnit
from simulator.clock import DeviceClock, SimClock
from simulator.devices import ClockSettings, DeviceProfile, create_device
from simulator.devices.records import RecordStore
from simulator.errors import WorldError
from simulator.model import DeviceKind, FaultKind, Reading, StoredRecord

pytestmark = pytest.mark.unit

CPH = ZoneInfo("Europe/Copenhagen")
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Copenhagen


def make(kind: DeviceKind, **profile: object):  # type: ignore[no-untyped-def]
    settings: dict[str, object] = {"address": "A4:C1:38:00:11:22", "id": "dev"}
    settings.update(profile)
    return create_device(kind, DeviceProfile(**settings), SimClock(START), CPH)  # type: ignore[arg-type]


BP_VALUES = {"systolic": 128.0, "diastolic": 82.0, "pulse_rate": 64.0}


def test_blood_pressure_payload_decodes_to_what_was_measured() -> None:
    monitor = make(DeviceKind.BLOOD_PRESSURE, user_slots=2)
    record = monitor.measure(Reading(DeviceKind.BLOOD_PRESSURE, START, BP_VALUES, user_slot=2))
    decoded = BloodPressureMeasurement.from_bytes(record.payload)
    assert (decoded.systolic, decoded.diastolic, decoded.mean_arterial_pressure) == (128, 82, 97)
    assert decoded.pulse_rate == 64
    assert decoded.user_id == 2
    assert decoded.unit is PressureUnit.MMHG
    assert decoded.timestamp == datetime(2026, 11, 23, 10, 0)
    assert decoded.invalid_values == ()


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        (FaultKind.NAN, lambda m: m.invalid_values == ("systolic", "diastolic",
                                                       "mean_arterial_pressure", "pulse_rate")),
        (FaultKind.ALT_UNIT, lambda m: m.unit is PressureUnit.KPA and m.systolic == 17.1),
        (FaultKind.IMPLAUSIBLE, lambda m: m.systolic == 310),
    ],
)
def test_blood_pressure_faults(fault: FaultKind, check: object) -> None:
    monitor = make(DeviceKind.BLOOD_PRESSURE)
    record = monitor.measure(Reading(DeviceKind.BLOOD_PRESSURE, START, BP_VALUES, 1, fault))
    assert check(BloodPressureMeasurement.from_bytes(record.payload))  # type: ignore[operator]


@pytest.mark.parametrize(
    ("kind", "values", "decoder"),
    [
        (DeviceKind.BLOOD_PRESSURE, BP_VALUES, BloodPressureMeasurement.from_bytes),
        (DeviceKind.WEIGHT_SCALE, {"weight": 80.0}, WeightMeasurement.from_bytes),
        (DeviceKind.GLUCOSE, {"glucose": 6.1}, GlucoseMeasurement.from_bytes),
        (DeviceKind.THERMOMETER, {"temperature": 37.2}, TemperatureMeasurement.from_bytes),
        (DeviceKind.PULSE_OXIMETER, {"spo2": 95.0, "pulse_rate": 70.0},
         PlxSpotCheckMeasurement.from_bytes),
    ],
)
def test_malformed_payloads_are_rejected_by_the_decoders(
    kind: DeviceKind, values: dict[str, float], decoder: object
) -> None:
    device = make(kind)
    good = device.measure(Reading(kind, START, values))
    bad = device.measure(Reading(kind, START, values, fault=FaultKind.MALFORMED))
    decoder(good.payload)  # type: ignore[operator]
    with pytest.raises(DecodeError):
        decoder(bad.payload)  # type: ignore[operator]


def test_other_kinds_encode_their_units_and_failures() -> None:
    scale = make(DeviceKind.WEIGHT_SCALE)
    kg = WeightMeasurement.from_bytes(scale.measure(
        Reading(DeviceKind.WEIGHT_SCALE, START, {"weight": 80.0}, 1)).payload)
    lb = WeightMeasurement.from_bytes(scale.measure(
        Reading(DeviceKind.WEIGHT_SCALE, START, {"weight": 80.0}, 1, FaultKind.ALT_UNIT)).payload)
    failed = WeightMeasurement.from_bytes(scale.measure(
        Reading(DeviceKind.WEIGHT_SCALE, START, {"weight": 80.0}, 1, FaultKind.NAN)).payload)
    assert (kg.weight, kg.unit, kg.user_id) == (80.0, WeightUnit.KILOGRAM, 1)
    assert lb.unit is WeightUnit.POUND and lb.weight == pytest.approx(176.37)
    assert failed.weight is None and failed.invalid_values == ("weight",)

    meter = make(DeviceKind.GLUCOSE)
    first = GlucoseMeasurement.from_bytes(meter.measure(
        Reading(DeviceKind.GLUCOSE, START, {"glucose": 6.1})).payload)
    second = GlucoseMeasurement.from_bytes(meter.measure(
        Reading(DeviceKind.GLUCOSE, START, {"glucose": 6.1}, fault=FaultKind.ALT_UNIT)).payload)
    assert (first.sequence_number, first.canonical) == (1, 6.1)
    assert second.sequence_number == 2 and second.canonical == pytest.approx(6.1, abs=0.01)

    thermometer = make(DeviceKind.THERMOMETER)
    fahrenheit = TemperatureMeasurement.from_bytes(thermometer.measure(
        Reading(DeviceKind.THERMOMETER, START, {"temperature": 37.0},
                fault=FaultKind.ALT_UNIT)).payload)
    assert fahrenheit.unit is TemperatureUnit.FAHRENHEIT and fahrenheit.temperature == 98.6

    oximeter = make(DeviceKind.PULSE_OXIMETER, clock=ClockSettings(unset=True))
    spot = PlxSpotCheckMeasurement.from_bytes(oximeter.measure(
        Reading(DeviceKind.PULSE_OXIMETER, START, {"spo2": 95.0, "pulse_rate": 70.0})).payload)
    assert spot.device_clock_not_set and spot.timestamp is not None
    assert spot.timestamp.year == 2000


def test_device_refuses_readings_it_cannot_take() -> None:
    monitor = make(DeviceKind.BLOOD_PRESSURE, user_slots=2)
    with pytest.raises(WorldError, match="user slot"):
        monitor.measure(Reading(DeviceKind.BLOOD_PRESSURE, START, BP_VALUES, user_slot=3))
    with pytest.raises(WorldError, match="blood_pressure device"):
        monitor.measure(Reading(DeviceKind.GLUCOSE, START, {"glucose": 5.0}))


def test_device_clock_offset_drift_unset_and_set() -> None:
    now = [START]
    offset = DeviceClock(lambda: now[0], CPH, offset=timedelta(minutes=-7))
    drifting = DeviceClock(lambda: now[0], CPH, drift_seconds_per_day=30)
    unset = DeviceClock(lambda: now[0], CPH, unset=True)
    assert offset.now() == datetime(2026, 11, 23, 9, 53)
    assert unset.now() == datetime(2000, 1, 1)

    now[0] = START + timedelta(days=2)
    assert offset.error() == timedelta(minutes=-7)
    assert drifting.error() == timedelta(seconds=60)
    assert unset.now() == datetime(2000, 1, 3)

    unset.set(datetime(2026, 11, 25, 10, 0))
    assert not unset.unset
    assert unset.error() == timedelta(0)
    # Daylight saving: local time follows Europe/Copenhagen (summer is UTC+2).
    summer = DeviceClock(lambda: datetime(2026, 7, 1, 12, 0, tzinfo=UTC), CPH)
    assert summer.now() == datetime(2026, 7, 1, 14, 0)


def test_sim_clock_compresses_time() -> None:
    clock = SimClock(START, speed=3600)
    assert clock.wall_seconds_until(START + timedelta(hours=2)) == pytest.approx(2.0, abs=0.1)
    assert clock.wall_seconds_until(START - timedelta(hours=1)) == 0.0
    with pytest.raises(ValueError, match="speed"):
        SimClock(START, speed=0)


def test_record_store_is_bounded_and_forgets_by_sequence_number() -> None:
    store = RecordStore(capacity=3)
    reading = Reading(DeviceKind.GLUCOSE, START, {"glucose": 5.0})
    for _ in range(4):
        seq = store.next_seq()
        store.add(StoredRecord(seq, reading, datetime(2026, 1, 1), b""))
    assert [r.seq for r in store] == [2, 3, 4]
    assert store.overwritten == 1
    assert store.forget(3) and not store.forget(3)
    assert [r.seq for r in store.snapshot()] == [2, 4]
