"""Weight Scale Service v1.0: Weight Measurement and Weight Scale Feature."""

from __future__ import annotations

from datetime import datetime

import pytest

from gatt.errors import EncodeError, TrailingBytes, TruncatedPayload
from gatt.weight_scale import (
    WeightMeasurement,
    WeightScaleFeature,
    WeightScaleFeatureFlags,
    WeightUnit,
)

pytestmark = pytest.mark.unit

# Real captures from a scale, posted with the question "decode weight scale ble data"
# (mirrored at https://codepudding.com/Mobile/444507.html): "[3, 52, 18, 224, 7, 2, 25, 3,
# 49, 28]" displayed as 46.6 lb; the accepted answer decodes "[2, 168, 12, ...]" in kg with
# the 0.005 kg resolution of the Weight field (3240 * 0.005 = 16.2 kg).
IMPERIAL_CAPTURE = bytes([3, 52, 18, 224, 7, 2, 25, 3, 49, 28])
SI_CAPTURE = bytes([2, 168, 12, 224, 7, 2, 25, 3, 51, 7])


def test_imperial_capture() -> None:
    m = WeightMeasurement.from_bytes(IMPERIAL_CAPTURE)
    assert m.unit is WeightUnit.POUND
    assert m.weight == 46.6
    assert m.timestamp == datetime(2016, 2, 25, 3, 49, 28)
    assert m.canonical.weight_kg == 21.137404  # 46.6 * 0.45359237
    assert bytes(m) == IMPERIAL_CAPTURE


def test_si_capture() -> None:
    m = WeightMeasurement.from_bytes(SI_CAPTURE)
    assert m.unit is WeightUnit.KILOGRAM
    assert m.weight == 16.2
    assert m.timestamp == datetime(2016, 2, 25, 3, 51, 7)
    assert m.canonical.weight_kg == 16.2
    assert bytes(m) == SI_CAPTURE


def test_bmi_height_and_user_id_si() -> None:
    # WSS Weight Measurement: 72.5 kg (14500 * 0.005), user 3, BMI 23.7 (237 * 0.1), 1.75 m (1750 * 0.001).
    payload = bytes.fromhex("0c a4 38 03 ed 00 d6 06")
    m = WeightMeasurement.from_bytes(payload)
    assert (m.weight, m.user_id, m.bmi, m.height) == (72.5, 3, 23.7, 1.75)
    assert m.canonical.height_m == 1.75
    assert bytes(m) == payload
    assert m.to_json_dict() == {
        "unit": "kg", "weight": 72.5, "timestamp": None, "user_id": 3, "bmi": 23.7,
        "height": 1.75, "invalid_values": [],
        "canonical": {"weight_kg": 72.5, "height_m": 1.75, "bmi": 23.7},
    }


def test_bmi_height_imperial() -> None:
    # 160.0 lb (16000 * 0.01), BMI 23.7, 69.0 in (690 * 0.1).
    payload = bytes.fromhex("09 80 3e ed 00 b2 02")
    m = WeightMeasurement.from_bytes(payload)
    assert (m.weight, m.bmi, m.height) == (160.0, 23.7, 69.0)
    assert m.canonical.weight_kg == 72.574779
    assert m.canonical.height_m == 1.7526
    assert bytes(m) == payload


def test_measurement_unsuccessful_is_invalid() -> None:
    m = WeightMeasurement.from_bytes(bytes.fromhex("00ffff"))
    assert m.weight is None
    assert m.invalid_values == ("weight",)
    assert m.canonical.weight_kg is None
    assert bytes(m) == bytes.fromhex("00ffff")


def test_reserved_flags_are_kept() -> None:
    m = WeightMeasurement.from_bytes(bytes.fromhex("f0a438"))
    assert (m.weight, m.reserved_flags) == (72.5, 0xF0)
    assert bytes(m) == bytes.fromhex("f0a438")


def test_errors() -> None:
    with pytest.raises(TruncatedPayload, match=r"0x2A9D: offset 3: .*the BMI"):
        WeightMeasurement.from_bytes(bytes.fromhex("08a438"))
    with pytest.raises(TruncatedPayload, match="the height"):
        WeightMeasurement.from_bytes(bytes.fromhex("08a438ed00"))
    with pytest.raises(TruncatedPayload, match="the user ID"):
        WeightMeasurement.from_bytes(bytes.fromhex("04a438"))
    with pytest.raises(TrailingBytes):
        WeightMeasurement.from_bytes(bytes.fromhex("00a43800"))
    with pytest.raises(ValueError, match="together"):
        WeightMeasurement(70.0, bmi=22.0)
    with pytest.raises(ValueError, match="reserved flag bits"):
        WeightMeasurement(70.0, reserved_flags=0x01)
    with pytest.raises(EncodeError, match="measurement unsuccessful"):
        bytes(WeightMeasurement(327.675))  # 65535 * 0.005 collides with 0xFFFF
    with pytest.raises(EncodeError, match="weight"):
        bytes(WeightMeasurement(400.0))


def test_encoder_rounds_to_the_resolution() -> None:
    assert WeightMeasurement.from_bytes(bytes(WeightMeasurement(72.3012))).weight == 72.3


def test_weight_scale_feature() -> None:
    # Time stamp, multiple users and BMI supported; weight resolution 7 (0.005 kg / 0.01 lb);
    # height resolution 3 (0.001 m / 0.1 in): 0b011_0111_111 = 0x1BF (WSS Weight Scale Feature).
    payload = bytes.fromhex("bf010000")
    feature = WeightScaleFeature.from_bytes(payload)
    assert feature.features == WeightScaleFeatureFlags(0x07)
    assert feature.weight_resolution_kg_lb == (0.005, 0.01)
    assert feature.height_resolution_m_in == (0.001, 0.1)
    assert bytes(feature) == payload
    assert feature.to_json_dict() == {
        "features": ["timestamp_supported", "multiple_users_supported", "bmi_supported"],
        "weight_resolution": {"kg": 0.005, "lb": 0.01},
        "height_resolution": {"m": 0.001, "in": 0.1},
        "reserved_flags": 0,
    }
    unspecified = WeightScaleFeature.from_bytes(bytes.fromhex("00040080"))
    assert unspecified.weight_resolution_kg_lb is None
    assert unspecified.reserved_flags == 0x8000_0400
    assert unspecified.to_json_dict()["weight_resolution"] is None
    with pytest.raises(ValueError, match="bits 0-2"):
        WeightScaleFeature(WeightScaleFeatureFlags(0x08))
    with pytest.raises(ValueError, match="4-bit"):
        WeightScaleFeature(weight_resolution=16)
    with pytest.raises(ValueError, match="bits 10-31"):
        WeightScaleFeature(reserved_flags=0x01)
    with pytest.raises(TruncatedPayload):
        WeightScaleFeature.from_bytes(b"\x00\x00")
