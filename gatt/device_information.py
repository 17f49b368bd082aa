"""Device Information Service (0x180A): the identity strings and System ID.

Layouts: Device Information Service (DIS) v1.1, section 3 (Service Characteristics), with
the field definitions of the GATT Specification Supplement.

The strings (manufacturer name, model number, serial number, firmware and hardware
revision) are ``utf8s``: the whole value is UTF-8 text, with no terminator. Some devices
pad with NUL octets anyway; trailing NULs are dropped, so such a value re-encodes shorter.
Bytes that are not UTF-8 raise :class:`~gatt.errors.InvalidValue` naming the
offset of the first bad byte.

System ID: a uint40 manufacturer-defined identifier followed by a uint24
Organizationally Unique Identifier (OUI), 8 octets, little-endian.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from gatt.reader import ByteReader, ByteWriter
from gatt.uuids import CharacteristicUUID


@dataclass(frozen=True, slots=True)
class _DeviceInformationString:
    UUID: ClassVar[CharacteristicUUID]

    value: str

    def __post_init__(self) -> None:
        if self.value.endswith("\x00"):
            raise ValueError("trailing NUL characters are padding, not part of the string")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        raw = reader.rest().rstrip(b"\x00")
        try:
            return cls(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise reader.invalid(error.start, "UTF-8 text (utf8s)") from None

    def __bytes__(self) -> bytes:
        return self.value.encode("utf-8")

    def to_json_dict(self) -> dict[str, object]:
        return {"value": self.value}


@dataclass(frozen=True, slots=True)
class ManufacturerNameString(_DeviceInformationString):
    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.MANUFACTURER_NAME_STRING


@dataclass(frozen=True, slots=True)
class ModelNumberString(_DeviceInformationString):
    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.MODEL_NUMBER_STRING


@dataclass(frozen=True, slots=True)
class SerialNumberString(_DeviceInformationString):
    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.SERIAL_NUMBER_STRING


@dataclass(frozen=True, slots=True)
class FirmwareRevisionString(_DeviceInformationString):
    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.FIRMWARE_REVISION_STRING


@dataclass(frozen=True, slots=True)
class HardwareRevisionString(_DeviceInformationString):
    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.HARDWARE_REVISION_STRING


@dataclass(frozen=True, slots=True)
class SystemId:
    """System ID (0x2A23): manufacturer identifier (40 bits) and OUI (24 bits)."""

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.SYSTEM_ID

    manufacturer_identifier: int
    organizationally_unique_identifier: int

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        manufacturer = reader.uint(5, "the manufacturer identifier")
        oui = reader.u24("the organizationally unique identifier")
        reader.finish("the organizationally unique identifier")
        return cls(manufacturer, oui)

    def __bytes__(self) -> bytes:
        writer = ByteWriter().uint(self.manufacturer_identifier, 5, "manufacturer_identifier")
        writer.u24(self.organizationally_unique_identifier, "organizationally_unique_identifier")
        return writer.to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {
            "manufacturer_identifier": f"{self.manufacturer_identifier:010x}",
            "organizationally_unique_identifier": f"{self.organizationally_unique_identifier:06x}",
        }
