"""decode(encode(x)) == x for every characteristic, with Hypothesis.

Each strategy builds models the way the simulator would: numbers an SFLOAT/FLOAT can hold
exactly, special values, every optional field on or off, reserved flag bits and codes, and
Date Times both valid and "unknown". The encoding of a decoded model is byte-exact too.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatt import (
    GATT_VALUE_TYPES,
    BatteryLevel,
    BloodPressureMeasurement,
    CurrentTime,
    GattValue,
    GlucoseMeasurement,
    GlucoseMeasurementContext,
    IntermediateCuffPressure,
    IntermediateTemperature,
    PlxContinuousMeasurement,
    PlxSpotCheckMeasurement,
    RacpRequest,
    RacpResponse,
    TemperatureMeasurement,
    WeightMeasurement,
    decode_characteristic,
)
from gatt.blood_pressure import (
    BloodPressureFeature,
    BloodPressureFeatureFlags,
    MeasurementStatus,
    PressureUnit,
    PulseRateRange,
)
from gatt.current_time import AdjustReason, DateTime
from gatt.device_information import (
    FirmwareRevisionString,
    HardwareRevisionString,
    ManufacturerNameString,
    ModelNumberString,
    SerialNumberString,
    SystemId,
)
from gatt.errors import TrailingBytes, TruncatedPayload
from gatt.glucose import ConcentrationUnit, GlucoseFeature, GlucoseFeatureFlags, MedicationUnit, SensorStatus
from gatt.health_thermometer import TemperatureTypeCharacteristic, TemperatureUnit
from gatt.ieee11073 import SpecialValue
from gatt.pulse_oximeter import (
    PlxDeviceAndSensorStatus,
    PlxFeatures,
    PlxMeasurementStatus,
    PlxSupportedFeatures,
)
from gatt.racp import RacpFilterType, RacpOpcode
from gatt.weight_scale import WeightScaleFeature, WeightScaleFeatureFlags, WeightUnit

pytestmark = pytest.mark.unit

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
specials = st.sampled_from(SpecialValue)


def _decimal_float(mantissa: int, exponent: int) -> float:
    return float(Decimal(mantissa).scaleb(exponent))


sfloats = st.builds(_decimal_float, st.integers(-2045, 2045), st.integers(-8, 7))
floats32 = st.builds(_decimal_float, st.integers(-(2**23 - 3), 2**23 - 3),
                     st.integers(-128, 127))


def numbers(
    draw: st.DrawFn, names: tuple[str, ...], pool: st.SearchStrategy[float], *,
    optional: bool,
) -> tuple[dict[str, float | None], dict[str, SpecialValue]]:
    """Values for ``names``: a number, a special value or (if optional) absent."""
    values: dict[str, float | None] = {}
    special_values: dict[str, SpecialValue] = {}
    choices = ["number", "special", "absent"] if optional else ["number", "special"]
    for name in names:
        choice = draw(st.sampled_from(choices))
        values[name] = draw(pool) if choice == "number" else None
        if choice == "special":
            special_values[name] = draw(specials)
    return values, special_values


valid_datetimes = st.datetimes(min_value=datetime(1582, 1, 1),
                               max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
    lambda value: value.replace(microsecond=0))
raw_date_times = st.builds(DateTime, u16, u8, u8, u8, u8, u8)


@st.composite
def timestamps(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for a time stamp: absent, a datetime, or a raw Date Time."""
    choice = draw(st.sampled_from(["absent", "datetime", "raw"]))
    if choice == "datetime":
        return {"timestamp": draw(valid_datetimes)}
    if choice == "raw":
        return {"timestamp_raw": draw(raw_date_times)}
    return {}


def reserved(mask: int) -> st.SearchStrategy[int]:
    return st.integers(0, 0xFF).map(lambda bits: bits & mask)


@st.composite
def blood_pressure(draw: st.DrawFn, model: type[BloodPressureMeasurement]
                   | type[IntermediateCuffPressure]) -> GattValue:
    values, special_values = numbers(
        draw, ("systolic", "diastolic", "mean_arterial_pressure"), sfloats, optional=False)
    pulse, pulse_specials = numbers(draw, ("pulse_rate",), sfloats, optional=True)
    status = draw(st.none() | st.builds(
        MeasurementStatus, st.booleans(), st.booleans(), st.booleans(),
        st.sampled_from(PulseRateRange), st.booleans(), u16.map(lambda bits: bits & 0xFFC0)))
    return model(
        **values, **pulse, unit=draw(st.sampled_from(PressureUnit)),
        user_id=draw(st.none() | u8), status=status, reserved_flags=draw(reserved(0xE0)),
        special_values=special_values | pulse_specials, **draw(timestamps()),
    )


@st.composite
def weights(draw: st.DrawFn) -> WeightMeasurement:
    unit = draw(st.sampled_from(WeightUnit))
    weight_step = Decimal("0.005") if unit is WeightUnit.KILOGRAM else Decimal("0.01")
    height_step = Decimal("0.001") if unit is WeightUnit.KILOGRAM else Decimal("0.1")
    weight = draw(st.none() | st.integers(0, 0xFFFE).map(lambda raw: float(raw * weight_step)))
    body = draw(st.none() | st.tuples(u16, u16))
    return WeightMeasurement(
        weight, unit=unit, user_id=draw(st.none() | u8),
        bmi=float(body[0] * Decimal("0.1")) if body else None,
        height=float(body[1] * height_step) if body else None,
        reserved_flags=draw(reserved(0xF0)), **draw(timestamps()),
    )


@st.composite
def glucose_measurements(draw: st.DrawFn) -> GlucoseMeasurement:
    with_concentration = draw(st.booleans())
    values, special_values = numbers(draw, ("concentration",), sfloats, optional=False)
    base = draw(timestamps())
    return GlucoseMeasurement(
        sequence_number=draw(u16),
        base_time=base.get("timestamp"),
        base_time_raw=base.get("timestamp_raw"),
        time_offset=draw(st.none() | st.integers(-0x8000, 0x7FFF)),
        concentration=values["concentration"] if with_concentration else None,
        concentration_unit=draw(st.sampled_from(ConcentrationUnit)) if with_concentration else None,
        type=draw(st.integers(0, 15)) if with_concentration else None,
        sample_location=draw(st.integers(0, 15)) if with_concentration else None,
        sensor_status=draw(st.none() | u16.map(SensorStatus)),
        context_follows=draw(st.booleans()),
        reserved_flags=draw(reserved(0xE0)),
        special_values=special_values if with_concentration else {},
    )


@st.composite
def glucose_contexts(draw: st.DrawFn) -> GlucoseMeasurementContext:
    values, special_values = numbers(draw, ("carbohydrate", "medication", "hba1c"), sfloats,
                                     optional=True)
    carbohydrate_id = draw(st.none() | u8)
    medication_id = draw(st.none() | u8)
    if carbohydrate_id is None:
        values["carbohydrate"] = None
        special_values.pop("carbohydrate", None)
    if medication_id is None:
        values["medication"] = None
        special_values.pop("medication", None)
    tester_health = draw(st.none() | st.tuples(st.integers(0, 15), st.integers(0, 15)))
    exercise = draw(st.none() | st.tuples(u16, u8))
    return GlucoseMeasurementContext(
        sequence_number=draw(u16), extended_flags=draw(st.none() | u8),
        carbohydrate_id=carbohydrate_id, medication_id=medication_id,
        meal=draw(st.none() | u8),
        tester=tester_health[0] if tester_health else None,
        health=tester_health[1] if tester_health else None,
        exercise_duration=exercise[0] if exercise else None,
        exercise_intensity=exercise[1] if exercise else None,
        medication_unit=draw(st.sampled_from(MedicationUnit)),
        special_values=special_values, **values,
    )


@st.composite
def temperatures(draw: st.DrawFn, model: type[TemperatureMeasurement]
                 | type[IntermediateTemperature]) -> GattValue:
    values, special_values = numbers(draw, ("temperature",), floats32, optional=False)
    return model(
        **values, unit=draw(st.sampled_from(TemperatureUnit)),
        temperature_type=draw(st.none() | u8), reserved_flags=draw(reserved(0xF8)),
        special_values=special_values, **draw(timestamps()),
    )


@st.composite
def spot_checks(draw: st.DrawFn) -> PlxSpotCheckMeasurement:
    values, special_values = numbers(draw, ("spo2", "pulse_rate"), sfloats, optional=False)
    pai, pai_specials = numbers(draw, ("pulse_amplitude_index",), sfloats, optional=True)
    return PlxSpotCheckMeasurement(
        **values, **pai,
        measurement_status=draw(st.none() | u16.map(PlxMeasurementStatus)),
        device_and_sensor_status=draw(st.none() | st.integers(0, 0xFFFFFF).map(
            PlxDeviceAndSensorStatus)),
        device_clock_not_set=draw(st.booleans()), reserved_flags=draw(reserved(0xE0)),
        special_values=special_values | pai_specials, **draw(timestamps()),
    )


@st.composite
def continuous(draw: st.DrawFn) -> PlxContinuousMeasurement:
    values, special_values = numbers(draw, ("spo2", "pulse_rate"), sfloats, optional=False)
    optional, optional_specials = numbers(draw, ("pulse_amplitude_index",), sfloats,
                                          optional=True)
    for pair in (("spo2_fast", "pulse_rate_fast"), ("spo2_slow", "pulse_rate_slow")):
        if draw(st.booleans()):
            pair_values, pair_specials = numbers(draw, pair, sfloats, optional=False)
            optional |= pair_values
            optional_specials |= pair_specials
    return PlxContinuousMeasurement(
        **values, **optional,
        measurement_status=draw(st.none() | u16.map(PlxMeasurementStatus)),
        device_and_sensor_status=draw(st.none() | st.integers(0, 0xFFFFFF).map(
            PlxDeviceAndSensorStatus)),
        reserved_flags=draw(reserved(0xE0)), special_values=special_values | optional_specials,
    )


@st.composite
def plx_features(draw: st.DrawFn) -> PlxFeatures:
    features = PlxSupportedFeatures(draw(u8))
    status = features & PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORTED
    device = features & PlxSupportedFeatures.DEVICE_AND_SENSOR_STATUS_SUPPORTED
    return PlxFeatures(
        features,
        draw(u16.map(PlxMeasurementStatus)) if status else None,
        draw(st.integers(0, 0xFFFFFF).map(PlxDeviceAndSensorStatus)) if device else None,
        draw(u8) << 8,
    )


@st.composite
def racp_requests(draw: st.DrawFn) -> RacpRequest:
    opcode, operator = draw(u8), draw(u8)
    kind = draw(st.sampled_from(["none", "sequence", "other"]))
    if kind == "sequence":
        return RacpRequest(opcode, operator, RacpFilterType.SEQUENCE_NUMBER,
                           tuple(draw(st.lists(u16, max_size=3))))
    if kind == "other":
        return RacpRequest(opcode, operator,
                           draw(u8.filter(lambda code: code != RacpFilterType.SEQUENCE_NUMBER)),
                           filter_operand=draw(st.binary(max_size=8)))
    return RacpRequest(opcode, operator)


racp_responses = st.one_of(
    u16.map(RacpResponse.for_number_of_records),
    st.builds(RacpResponse.for_response_code, u8, u8),
)
text = st.text(max_size=40).filter(lambda value: not value.endswith("\x00"))

STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    BloodPressureMeasurement: blood_pressure(BloodPressureMeasurement),
    IntermediateCuffPressure: blood_pressure(IntermediateCuffPressure),
    BloodPressureFeature: st.builds(BloodPressureFeature,
                                    u8.map(lambda bits: BloodPressureFeatureFlags(bits & 0x3F)),
                                    u16.map(lambda bits: bits & 0xFFC0)),
    WeightMeasurement: weights(),
    WeightScaleFeature: st.builds(WeightScaleFeature, st.integers(0, 7).map(
        WeightScaleFeatureFlags), st.integers(0, 15), st.integers(0, 7),
        st.integers(0, 2**22 - 1).map(lambda bits: bits << 10)),
    GlucoseMeasurement: glucose_measurements(),
    GlucoseMeasurementContext: glucose_contexts(),
    GlucoseFeature: st.builds(GlucoseFeature, st.integers(0, 0x7FF).map(GlucoseFeatureFlags),
                              st.integers(0, 31).map(lambda bits: bits << 11)),
    RacpResponse: racp_responses,
    RacpRequest: racp_requests(),
    TemperatureMeasurement: temperatures(TemperatureMeasurement),
    IntermediateTemperature: temperatures(IntermediateTemperature),
    TemperatureTypeCharacteristic: st.builds(TemperatureTypeCharacteristic, u8),
    PlxSpotCheckMeasurement: spot_checks(),
    PlxContinuousMeasurement: continuous(),
    PlxFeatures: plx_features(),
    CurrentTime: st.one_of(
        st.builds(CurrentTime.for_datetime, valid_datetimes.filter(
            lambda value: value.year > 1582), st.integers(0, 15).map(AdjustReason)),
        st.builds(CurrentTime, day_of_week=u8, fractions256=u8,
                  adjust_reason=st.integers(0, 15).map(AdjustReason),
                  reserved_flags=st.integers(0, 15).map(lambda bits: bits << 4),
                  date_time_raw=raw_date_times),
    ),
    DateTime: raw_date_times,
    BatteryLevel: st.builds(BatteryLevel, u8),
    ManufacturerNameString: st.builds(ManufacturerNameString, text),
    ModelNumberString: st.builds(ModelNumberString, text),
    SerialNumberString: st.builds(SerialNumberString, text),
    FirmwareRevisionString: st.builds(FirmwareRevisionString, text),
    HardwareRevisionString: st.builds(HardwareRevisionString, text),
    SystemId: st.builds(SystemId, st.integers(0, 2**40 - 1), st.integers(0, 2**24 - 1)),
}


# Values whose length is not fixed by flags: text, and RACP operands.
VARIABLE_LENGTH = {ManufacturerNameString, ModelNumberString, SerialNumberString,
                   FirmwareRevisionString, HardwareRevisionString, RacpRequest}


def test_every_characteristic_has_a_strategy() -> None:
    assert set(GATT_VALUE_TYPES) | {RacpRequest} == set(STRATEGIES)


@pytest.mark.parametrize("model", list(STRATEGIES), ids=lambda model: model.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_decode_of_encode_is_identity(model: type[Any], data: st.DataObject) -> None:
    value = data.draw(STRATEGIES[model])
    payload = bytes(value)
    decoded = model.from_bytes(payload)
    assert decoded == value
    assert bytes(decoded) == payload
    if model is not RacpRequest:  # the registry decodes 0x2A52 as a response
        assert decode_characteristic(model.UUID, payload) == value
    assert isinstance(decoded.to_json_dict(), dict)
    if model not in VARIABLE_LENGTH:
        # Every field the flags announce is needed, and nothing may follow the last one.
        with pytest.raises(TruncatedPayload):
            model.from_bytes(payload[:-1])
        with pytest.raises(TrailingBytes):
            model.from_bytes(payload + b"\x00")


def test_racp_opcodes_are_the_spec_values() -> None:
    assert [code.value for code in RacpOpcode] == [1, 2, 3, 4, 5, 6]
