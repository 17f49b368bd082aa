"""Pulse Oximeter Service: spot-check, continuous and features (PLXS v1.0.1, 3.1-3.3)."""

from __future__ import annotations

from datetime import datetime

import pytest

from gatt.errors import TrailingBytes, TruncatedPayload
from gatt.ieee11073 import SpecialValue
from gatt.pulse_oximeter import (
    PlxContinuousMeasurement,
    PlxDeviceAndSensorStatus,
    PlxFeatures,
    PlxMeasurementStatus,
    PlxSpotCheckMeasurement,
    PlxSupportedFeatures,
)

pytestmark = pytest.mark.unit

# Real captures from a ChoiceMMed oximeter shown by nRF Connect, posted with the question
# "How to decode pulse oximeter output" (https://androidbugfix.com/2022/03/how-to-decode-
# pulse-oximeter-output.html): spot-check "17-61-00-60-00-E1-07-01-01-01-22-13-20-00-20-00-00"
# and continuous "0c-62-00-4E-00-20-00-00-00-00". The answer reads SpO2 97 from byte 1 (it
# prints "pulse rate:98", but its own formula on byte 3, 0x60, gives 96).
SPOT_CHECK_CAPTURE = bytes.fromhex("1761006000E1070101012213200020 0000")
CONTINUOUS_CAPTURE = bytes.fromhex("0c62004E00200000 0000")


def test_spot_check_capture() -> None:
    m = PlxSpotCheckMeasurement.from_bytes(SPOT_CHECK_CAPTURE)
    assert (m.spo2, m.pulse_rate) == (97.0, 96.0)
    assert m.timestamp == datetime(2017, 1, 1, 1, 34, 19)
    assert m.measurement_status == PlxMeasurementStatus.MEASUREMENT_ONGOING
    assert m.device_and_sensor_status == PlxDeviceAndSensorStatus.LOW_PERFUSION_DETECTED
    assert m.device_clock_not_set
    assert m.pulse_amplitude_index is None
    assert bytes(m) == SPOT_CHECK_CAPTURE
    assert m.to_json_dict() == {
        "spo2": 97.0, "pulse_rate": 96.0, "timestamp": "2017-01-01T01:34:19",
        "invalid_values": [],
    }


def test_continuous_capture() -> None:
    m = PlxContinuousMeasurement.from_bytes(CONTINUOUS_CAPTURE)
    assert (m.spo2, m.pulse_rate) == (98.0, 78.0)
    assert m.measurement_status == PlxMeasurementStatus.MEASUREMENT_ONGOING
    assert m.device_and_sensor_status == PlxDeviceAndSensorStatus(0)
    assert m.spo2_fast is None
    assert bytes(m) == CONTINUOUS_CAPTURE
    json = m.to_json_dict()
    assert json["measurement_status"] == ["measurement_ongoing"]
    assert json["device_and_sensor_status"] == []


def test_spot_check_failed_reading_and_pulse_amplitude_index() -> None:
    m = PlxSpotCheckMeasurement.from_bytes(bytes.fromhex("08 ff07 ff07 f4f0"))
    assert (m.spo2, m.pulse_rate) == (None, None)
    assert m.pulse_amplitude_index == 24.4
    assert m.invalid_values == ("spo2", "pulse_rate")
    assert bytes(m) == bytes.fromhex("08ff07ff07f4f0")


def test_continuous_fast_and_slow_with_reserved_bits() -> None:
    # Flags 0xF7: fast, slow, measurement status and PAI present, reserved bits 5-7 set;
    # the status sets only its reserved bits 0-4; PR fast is NaN, PAI is -INF.
    payload = bytes.fromhex("f7 6100 4800 6000 ff07 6200 4700 1f00 0208")
    m = PlxContinuousMeasurement.from_bytes(payload)
    assert (m.spo2_fast, m.pulse_rate_fast, m.spo2_slow, m.pulse_rate_slow) == (
        96.0, None, 98.0, 71.0)
    assert m.measurement_status == PlxMeasurementStatus(0x001F)  # only reserved bits
    assert m.pulse_amplitude_index is None
    assert m.special_values == {"pulse_rate_fast": SpecialValue.NAN,
                                "pulse_amplitude_index": SpecialValue.NEGATIVE_INFINITY}
    assert m.reserved_flags == 0xE0
    assert bytes(m) == payload
    assert m.to_json_dict()["measurement_status"] == [f"reserved_bit_{n}" for n in range(5)]


def test_partner_of_a_fast_value_is_sent_as_nan() -> None:
    m = PlxContinuousMeasurement(97, 70, spo2_fast=96)
    assert m.special_values == {"pulse_rate_fast": SpecialValue.NAN}
    assert bytes(m) == bytes.fromhex("01 6100 4600 6000 ff07")


def test_errors() -> None:
    with pytest.raises(TruncatedPayload, match=r"0x2A5E: offset 5: .*the year of the time"):
        PlxSpotCheckMeasurement.from_bytes(bytes.fromhex("0161006000"))
    with pytest.raises(TruncatedPayload, match="the device and sensor status"):
        PlxContinuousMeasurement.from_bytes(bytes.fromhex("08 6100 4600 0000"))
    with pytest.raises(TrailingBytes, match="0x2A5F"):
        PlxContinuousMeasurement.from_bytes(bytes.fromhex("00 6100 4600 00"))
    with pytest.raises(ValueError, match="reserved flag bits"):
        PlxSpotCheckMeasurement(97, 70, reserved_flags=0x01)


def test_plx_features() -> None:
    # Supported features 0x00FF with both support masks (PLXS 3.3).
    payload = bytes.fromhex("ff00 e0ff ffff00")
    features = PlxFeatures.from_bytes(payload)
    assert features.features == PlxSupportedFeatures(0xFF)
    assert features.measurement_status_support == PlxMeasurementStatus(0xFFE0)
    assert features.device_and_sensor_status_support == PlxDeviceAndSensorStatus(0xFFFF)
    assert bytes(features) == payload
    json = features.to_json_dict()
    assert "multiple_bonds" in json["features"]  # type: ignore[operator]
    assert json["measurement_status_support"][0] == "measurement_ongoing"  # type: ignore[index]
    bare = PlxFeatures.from_bytes(bytes.fromhex("0c80"))
    assert bare.measurement_status_support is None
    assert bare.reserved_flags == 0x8000
    assert bare.to_json_dict()["device_and_sensor_status_support"] is None
    assert bytes(bare) == bytes.fromhex("0c80")
    with pytest.raises(TruncatedPayload, match="the measurement status support"):
        PlxFeatures.from_bytes(bytes.fromhex("0100"))
    with pytest.raises(ValueError, match="goes with MEASUREMENT_STATUS"):
        PlxFeatures(PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORTED)
    with pytest.raises(ValueError, match="goes with DEVICE_AND_SENSOR"):
        PlxFeatures(device_and_sensor_status_support=PlxDeviceAndSensorStatus(0))
    with pytest.raises(ValueError, match="bits 0-7"):
        PlxFeatures(reserved_flags=0x01)
