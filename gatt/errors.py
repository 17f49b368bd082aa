"""Typed errors of the GATT decoders and encoders.

A decoder raises only :class:`DecodeError` (or a subclass). It carries the characteristic
UUID, the offset where decoding stopped, the whole payload and what was expected there, so
a field technician can tell a truncated capture from a device that breaks the spec.
"""

from __future__ import annotations

from homevitals.errors import HomevitalsError


class DecodeError(HomevitalsError, ValueError):
    """A payload does not match the layout of its characteristic."""

    def __init__(self, uuid: int, offset: int, data: bytes, expected: str) -> None:
        self.uuid = uuid
        self.offset = offset
        self.data = bytes(data)
        self.expected = expected
        super().__init__(f"0x{uuid:04X}: offset {offset}: expected {expected}")


class TruncatedPayload(DecodeError):
    """The payload ends before a field its flags announce."""


class TrailingBytes(DecodeError):
    """Bytes are left after the last field the flags announce."""


class InvalidValue(DecodeError):
    """A field holds a value the spec forbids (for example, bytes that are not UTF-8)."""


class EncodeError(HomevitalsError, ValueError):
    """A model value cannot be represented on the wire (out of range, wrong kind)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class UnknownCharacteristic(HomevitalsError, LookupError):
    """No decoder is registered for this UUID."""

    def __init__(self, uuid: int) -> None:
        self.uuid = uuid
        super().__init__(f"0x{uuid:04X}: no decoder for this characteristic")
