"""A bounds-checked cursor over a characteristic value, and its writing counterpart.

Every decoder reads through :class:`ByteReader`, so a short payload raises
:class:`TruncatedPayload` naming the field it was reading, never ``IndexError`` or
``struct.error``. Multi-octet fields are little-endian, as everywhere in GATT (GATT
Specification Supplement).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from enum import IntEnum, IntFlag
from typing import TypeVar

from gatt.errors import EncodeError, InvalidValue, TrailingBytes, TruncatedPayload
from gatt.ieee11073 import (
    DecodedNumber,
    SpecialValue,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
)

CodeT = TypeVar("CodeT", bound=IntEnum)


def as_code(enum_type: type[CodeT], value: int) -> CodeT | int:
    """The enum member for ``value``, or the plain int when the spec reserves it.

    Reserved codes are kept as sent, so a model re-encodes to the same bytes.
    """
    try:
        return enum_type(value)
    except ValueError:
        return value


def code_name(value: int) -> str:
    """A JSON-friendly name: ``"capillary_whole_blood"``, or ``"reserved_11"``."""
    return value.name.lower() if isinstance(value, IntEnum) else f"reserved_{value}"


CANONICAL_QUANTUM = Decimal("0.000001")  # canonical values keep 6 decimals
# Enough digits for the largest FLOAT (about 8.4e133) plus six decimals.
_CANONICAL_CONTEXT = Context(prec=200)


def to_canonical(value: float, *, multiply: str = "1", divide: str = "1",
                 subtract: str = "0") -> float:
    """``(value - subtract) * multiply / divide`` in decimal arithmetic, to 6 decimals.

    Decimal arithmetic keeps 10.7 kPa at 80.256581 mmHg instead of float noise
    (80.25658049999999); six decimals are far below any device resolution.
    """
    context = _CANONICAL_CONTEXT
    result = context.divide(
        context.multiply(context.subtract(Decimal(repr(value)), Decimal(subtract)),
                         Decimal(multiply)),
        Decimal(divide),
    )
    return float(result.quantize(CANONICAL_QUANTUM, rounding=ROUND_HALF_UP, context=context))


def flag_names(value: int, flags: type[IntFlag], width: int) -> list[str]:
    """Lowercase names of the set bits; bits the spec reserves as ``reserved_bit_N``."""
    names: list[str] = []
    for bit in range(width):
        if value >> bit & 1:
            name = flags(1 << bit).name
            names.append(name.lower() if name else f"reserved_bit_{bit}")
    return names


class ByteReader:
    """Reads fields from the front of a payload; raises :class:`DecodeError` subclasses."""

    def __init__(self, data: bytes, uuid: int) -> None:
        self._data = bytes(data)
        self._uuid = uuid
        self._offset = 0

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def remaining(self) -> int:
        return len(self._data) - self._offset

    def take(self, size: int, what: str) -> bytes:
        if self.remaining < size:
            raise TruncatedPayload(
                self._uuid, self._offset, self._data,
                f"{size} byte(s) for {what}, but the payload ends after "
                f"{len(self._data)} byte(s)",
            )
        chunk = self._data[self._offset:self._offset + size]
        self._offset += size
        return chunk

    def uint(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "little")

    def u8(self, what: str) -> int:
        return self.uint(1, what)

    def u16(self, what: str) -> int:
        return self.uint(2, what)

    def u24(self, what: str) -> int:
        return self.uint(3, what)

    def u32(self, what: str) -> int:
        return self.uint(4, what)

    def s16(self, what: str) -> int:
        return int.from_bytes(self.take(2, what), "little", signed=True)

    def sfloat(self, what: str) -> DecodedNumber:
        return decode_sfloat(self.u16(f"{what} (SFLOAT)"))

    def float32(self, what: str) -> DecodedNumber:
        return decode_float(self.u32(f"{what} (FLOAT)"))

    def rest(self) -> bytes:
        chunk = self._data[self._offset:]
        self._offset = len(self._data)
        return chunk

    def invalid(self, offset: int, expected: str) -> InvalidValue:
        """An :class:`InvalidValue` for a field that started at ``offset``."""
        return InvalidValue(self._uuid, offset, self._data, expected)

    def finish(self, after: str) -> None:
        """Refuse trailing bytes: the flags announced no field after ``after``."""
        if self.remaining:
            raise TrailingBytes(
                self._uuid, self._offset, self._data,
                f"end of payload after {after}, found {self.remaining} trailing byte(s)",
            )


class ByteWriter:
    """Builds a payload field by field; out-of-range values raise :class:`EncodeError`."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def uint(self, value: int, size: int, field: str) -> ByteWriter:
        if not 0 <= value < 1 << (8 * size):
            raise EncodeError(field, f"{value} does not fit in an unsigned {8 * size}-bit field")
        self._buffer += value.to_bytes(size, "little")
        return self

    def u8(self, value: int, field: str) -> ByteWriter:
        return self.uint(value, 1, field)

    def u16(self, value: int, field: str) -> ByteWriter:
        return self.uint(value, 2, field)

    def u24(self, value: int, field: str) -> ByteWriter:
        return self.uint(value, 3, field)

    def u32(self, value: int, field: str) -> ByteWriter:
        return self.uint(value, 4, field)

    def s16(self, value: int, field: str) -> ByteWriter:
        if not -0x8000 <= value <= 0x7FFF:
            raise EncodeError(field, f"{value} does not fit in a signed 16-bit field")
        self._buffer += value.to_bytes(2, "little", signed=True)
        return self

    def sfloat(self, value: float | None, special: SpecialValue | None, field: str) -> ByteWriter:
        """Write a number, or (for ``None``) its special value, NaN if none is recorded."""
        encoded = encode_sfloat(value if value is not None else special or SpecialValue.NAN,
                                field=field)
        return self.u16(encoded, field)

    def float32(self, value: float | None, special: SpecialValue | None,
                field: str) -> ByteWriter:
        encoded = encode_float(value if value is not None else special or SpecialValue.NAN,
                               field=field)
        return self.u32(encoded, field)

    def raw(self, data: bytes) -> ByteWriter:
        self._buffer += data
        return self

    def to_bytes(self) -> bytes:
        return bytes(self._buffer)
