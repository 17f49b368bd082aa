"""IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit), as used by the health profiles.

A value is ``mantissa * 10 ** exponent`` with a signed exponent in the top bits (4 bits for
SFLOAT, 8 for FLOAT) and a signed two's-complement mantissa below (12 or 24 bits).
The Bluetooth GATT Specification Supplement calls them ``medfloat16`` and ``medfloat32``.

Five codes with exponent 0 are special values (IEEE 11073-20601; the GATT Specification
Supplement lists the same codes for medfloat16 and medfloat32):

======== =========== ============
kind     SFLOAT      FLOAT
======== =========== ============
NaN      0x07FF      0x007FFFFF
NRes     0x0800      0x00800000
+INF     0x07FE      0x007FFFFE
-INF     0x0802      0x00800002
reserved 0x0801      0x00800001
======== =========== ============

They decode to ``None`` plus a :class:`SpecialValue`; they never become a number. Naive
parsers that ignore them show a failed blood-pressure measurement as 2047 mmHg.

Only the exact codes above are special: a mantissa of 2047 with a non-zero exponent is an
ordinary number (``0xF7FF`` is 204.7), because the standard defines the special values as
whole codes with exponent 0.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from types import MappingProxyType
from typing import NamedTuple

from gatt.errors import EncodeError


class SpecialValue(Enum):
    """The IEEE 11073 special values; the value is the name the standard uses."""

    NAN = "NaN"
    NRES = "NRes"
    POSITIVE_INFINITY = "+INF"
    NEGATIVE_INFINITY = "-INF"
    RESERVED = "reserved"


class DecodedNumber(NamedTuple):
    """A decoded SFLOAT/FLOAT: a number, or ``None`` and the special value it was."""

    value: float | None
    special: SpecialValue | None


@dataclass(frozen=True, slots=True)
class _Format:
    mantissa_bits: int
    exponent_bits: int

    @property
    def mantissa_limit(self) -> int:
        """2**(n-1): the mantissa is a signed n-bit integer in [-limit, limit - 1]."""
        return 1 << (self.mantissa_bits - 1)

    @property
    def exponent_range(self) -> tuple[int, int]:
        half = 1 << (self.exponent_bits - 1)
        return -half, half - 1

    def special_mantissas(self) -> dict[int, SpecialValue]:
        limit = self.mantissa_limit
        return {
            limit - 1: SpecialValue.NAN,
            -limit: SpecialValue.NRES,
            limit - 2: SpecialValue.POSITIVE_INFINITY,
            -(limit - 2): SpecialValue.NEGATIVE_INFINITY,
            -(limit - 1): SpecialValue.RESERVED,
        }


SFLOAT = _Format(mantissa_bits=12, exponent_bits=4)
FLOAT = _Format(mantissa_bits=24, exponent_bits=8)


def _signed(raw: int, bits: int) -> int:
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw


def _decode(raw: int, fmt: _Format) -> DecodedNumber:
    mantissa = _signed(raw & ((1 << fmt.mantissa_bits) - 1), fmt.mantissa_bits)
    exponent = _signed(raw >> fmt.mantissa_bits, fmt.exponent_bits)
    if exponent == 0:
        special = fmt.special_mantissas().get(mantissa)
        if special is not None:
            return DecodedNumber(None, special)
    # Decimal keeps 10**-n exact, so 1270e-1 becomes the float nearest to 127.0.
    return DecodedNumber(float(Decimal(mantissa).scaleb(exponent)), None)


def decode_sfloat(raw: int) -> DecodedNumber:
    """Decode a 16-bit SFLOAT given as an unsigned integer (little-endian already read)."""
    return _decode(raw & 0xFFFF, SFLOAT)


def decode_float(raw: int) -> DecodedNumber:
    """Decode a 32-bit FLOAT given as an unsigned integer."""
    return _decode(raw & 0xFFFF_FFFF, FLOAT)


def _pack(mantissa: int, exponent: int, fmt: _Format) -> int:
    mantissa_mask = (1 << fmt.mantissa_bits) - 1
    exponent_mask = (1 << fmt.exponent_bits) - 1
    return ((exponent & exponent_mask) << fmt.mantissa_bits) | (mantissa & mantissa_mask)


def _special_code(special: SpecialValue, fmt: _Format) -> int:
    mantissa = next(m for m, kind in fmt.special_mantissas().items() if kind is special)
    return _pack(mantissa, 0, fmt)


def _fits(mantissa: int, exponent: int, fmt: _Format) -> bool:
    limit = fmt.mantissa_limit
    if exponent == 0:
        # With exponent 0 the five codes nearest the limits are the special values.
        return -(limit - 3) <= mantissa <= limit - 3
    return -limit <= mantissa <= limit - 1


def _encode(value: float | Decimal | SpecialValue, fmt: _Format, precision: int | None,
            field: str) -> int:
    if isinstance(value, SpecialValue):
        return _special_code(value, fmt)
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    if number.is_nan():
        return _special_code(SpecialValue.NAN, fmt)
    if number.is_infinite():
        kind = SpecialValue.NEGATIVE_INFINITY if number < 0 else SpecialValue.POSITIVE_INFINITY
        return _special_code(kind, fmt)
    lowest, highest = fmt.exponent_range
    # Without a precision: the fewest decimals that keep the value exact; integers
    # prefer exponent 0 (120 mmHg is mantissa 120, not 12e1).
    exactly = min(int(number.normalize().as_tuple().exponent), 0)
    exponent = exactly if precision is None else -precision
    exponent = max(exponent, lowest)
    while exponent <= highest:
        mantissa = int(number.scaleb(-exponent).to_integral_value(rounding=ROUND_HALF_EVEN))
        if _fits(mantissa, exponent, fmt):
            return _pack(mantissa, exponent, fmt)
        exponent += 1
    raise EncodeError(field, f"{value} is out of range for an IEEE 11073 "
                             f"{'SFLOAT' if fmt is SFLOAT else 'FLOAT'}")


def encode_sfloat(value: float | Decimal | SpecialValue, *, precision: int | None = None,
                  field: str = "value") -> int:
    """Encode a number or special value as a 16-bit SFLOAT (unsigned integer).

    ``precision`` is the number of decimals to keep (``precision=1`` gives 16.0 kPa as
    mantissa 160, exponent -1). Without it the encoder keeps exactly the decimals the value
    has. When the mantissa does not fit, decimals are dropped with round-half-even; a value
    too large for any exponent raises :class:`EncodeError`. ``float('nan')`` and infinities
    become the matching special values.
    """
    return _encode(value, SFLOAT, precision, field)


def encode_float(value: float | Decimal | SpecialValue, *, precision: int | None = None,
                 field: str = "value") -> int:
    """Encode a number or special value as a 32-bit FLOAT; see :func:`encode_sfloat`."""
    return _encode(value, FLOAT, precision, field)


def settle_special_values(model: object, numeric_fields: Sequence[str],
                          mandatory: Collection[str]) -> tuple[str, ...]:
    """Make a model's ``special_values`` consistent with its numeric fields.

    Called from ``__post_init__`` of frozen models. A mandatory field given as ``None``
    (or as a float NaN/infinity) is recorded as the matching special value, so
    ``BloodPressureMeasurement(systolic=None, ...)`` encodes NaN. A field that holds a
    number may not also be marked special. Returns the special field names in field order,
    the basis of ``invalid_values``.
    """
    specials = dict(getattr(model, "special_values"))  # noqa: B009 - typed per model
    unknown = set(specials) - set(numeric_fields)
    if unknown:
        raise ValueError(f"special_values names unknown fields: {sorted(unknown)}")
    for name in numeric_fields:
        value = getattr(model, name)
        if isinstance(value, float) and not math.isfinite(value):
            specials[name] = (SpecialValue.NAN if math.isnan(value) else
                              SpecialValue.POSITIVE_INFINITY if value > 0 else
                              SpecialValue.NEGATIVE_INFINITY)
            object.__setattr__(model, name, None)
        elif value is not None and name in specials:
            raise ValueError(f"{name} is {value} but special_values marks it {specials[name]}")
        elif value is None and name in mandatory:
            specials.setdefault(name, SpecialValue.NAN)
    ordered = {name: specials[name] for name in numeric_fields if name in specials}
    object.__setattr__(model, "special_values", MappingProxyType(ordered))
    return tuple(ordered)
