"""IEEE 11073-20601 SFLOAT/FLOAT: special values, negative exponents, encoder precision."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatt.errors import EncodeError
from gatt.ieee11073 import (
    DecodedNumber,
    SpecialValue,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
)

pytestmark = pytest.mark.unit

# IEEE 11073-20601 (and the GATT Specification Supplement, medfloat16/32): special codes.
SFLOAT_SPECIALS = {
    0x07FF: SpecialValue.NAN,
    0x0800: SpecialValue.NRES,
    0x07FE: SpecialValue.POSITIVE_INFINITY,
    0x0802: SpecialValue.NEGATIVE_INFINITY,
    0x0801: SpecialValue.RESERVED,
}
FLOAT_SPECIALS = {
    0x007FFFFF: SpecialValue.NAN,
    0x00800000: SpecialValue.NRES,
    0x007FFFFE: SpecialValue.POSITIVE_INFINITY,
    0x00800002: SpecialValue.NEGATIVE_INFINITY,
    0x00800001: SpecialValue.RESERVED,
}


@pytest.mark.parametrize(("raw", "kind"), SFLOAT_SPECIALS.items())
def test_sfloat_special_values_never_become_numbers(raw: int, kind: SpecialValue) -> None:
    assert decode_sfloat(raw) == DecodedNumber(None, kind)
    assert encode_sfloat(kind) == raw


@pytest.mark.parametrize(("raw", "kind"), FLOAT_SPECIALS.items())
def test_float_special_values_never_become_numbers(raw: int, kind: SpecialValue) -> None:
    assert decode_float(raw) == DecodedNumber(None, kind)
    assert encode_float(kind) == raw


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0x0078, 120.0),  # 120 mmHg, exponent 0
        (0xF4F6, 127.0),  # mantissa 1270, exponent -1 (a real capture, see test_blood_pressure)
        (0xF2B2, 69.0),  # 690e-1
        (0xF0A0, 16.0),  # 160e-1 kPa
        (0xE0FF, 2.55),  # 255e-2
        (0x0FFF, -1.0),  # mantissa -1
        (0xF800, -204.8),  # mantissa -2048 with exponent -1 is a number, not NRes
        (0xF7FF, 204.7),  # mantissa 2047 with exponent -1 is a number, not NaN
        (0x8001, 1e-8),  # lowest exponent
        (0x7001, 1e7),  # highest exponent
        (0x0000, 0.0),
    ],
)
def test_sfloat_decodes_mantissa_times_power_of_ten(raw: int, value: float) -> None:
    assert decode_sfloat(raw) == DecodedNumber(value, None)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0xFF00016C, 36.4),  # 364e-1 degrees Celsius
        (0xFE000E74, 37.0),  # 3700e-2
        (0x00FFFFFF, -1.0),
        (0x80000001, 1e-128),
        (0x7F000001, 1e127),
    ],
)
def test_float_decodes(raw: int, value: float) -> None:
    assert decode_float(raw) == DecodedNumber(value, None)


@pytest.mark.parametrize(
    ("value", "raw"),
    [
        (120, 0x0078),
        (120.0, 0x0078),
        (127.5, 0xF4FB),  # needs exponent -1
        (-1.25, 0xEF83),  # 0xF83 is -125 in 12 bits
        (Decimal("1.5"), 0xF00F),
        (0.0, 0x0000),
        (2046, 0x10CD),  # 2046 with exponent 0 would be +INF: 205e1 instead
        (50000, 0x21F4),  # 500e2
        (float("nan"), 0x07FF),
        (float("inf"), 0x07FE),
        (float("-inf"), 0x0802),
    ],
)
def test_sfloat_encoder_picks_the_shortest_exact_form(value: float | Decimal, raw: int) -> None:
    assert encode_sfloat(value) == raw


def test_encoder_keeps_the_requested_precision() -> None:
    assert encode_sfloat(16.0, precision=1) == 0xF0A0  # what kPa devices send
    assert encode_sfloat(16.04, precision=1) == 0xF0A0  # rounded half-even
    assert encode_sfloat(Decimal("36.45"), precision=1) == 0xF16C
    assert encode_float(36.4, precision=2) == 0xFE000E38


def test_encoder_drops_decimals_the_mantissa_cannot_hold() -> None:
    assert decode_sfloat(encode_sfloat(123.456)).value == 123.5
    assert decode_sfloat(encode_sfloat(1e-12)).value == 0.0  # below 1e-8: rounds to zero


@pytest.mark.parametrize("value", [1e12, -1e12])
def test_sfloat_encoder_refuses_values_beyond_any_exponent(value: float) -> None:
    with pytest.raises(EncodeError, match="out of range for an IEEE 11073 SFLOAT"):
        encode_sfloat(value, field="systolic")


def test_float_encoder_refuses_values_beyond_any_exponent() -> None:
    with pytest.raises(EncodeError, match="FLOAT"):
        encode_float(1e200)


@given(st.integers(0, 0xFFFF))
def test_every_sfloat_code_decodes_to_a_number_or_a_special_value(raw: int) -> None:
    value, special = decode_sfloat(raw)
    assert (value is None) == (special is not None)
    if value is not None:
        assert decode_sfloat(encode_sfloat(value)).value == value


@given(st.integers(0, 0xFFFF_FFFF))
def test_every_float_code_decodes_to_a_number_or_a_special_value(raw: int) -> None:
    value, special = decode_float(raw)
    assert (value is None) == (special is not None)
    if value is not None:
        assert decode_float(encode_float(value)).value == value
