"""Battery Service (0x180F): Battery Level (0x2A19).

Layout: Battery Service (BAS) v1.0, 3.1, and the GATT Specification Supplement: one uint8,
the charge in percent (0..100). Values 101..255 are reserved: kept as sent in ``level``,
reported as ``None`` by :attr:`BatteryLevel.percent` and named in ``invalid_values``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from gatt.reader import ByteReader, ByteWriter
from gatt.uuids import CharacteristicUUID

MAX_PERCENT = 100


@dataclass(frozen=True, slots=True)
class BatteryLevel:
    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.BATTERY_LEVEL

    level: int

    @property
    def percent(self) -> int | None:
        """The charge in percent, or ``None`` for a reserved value."""
        return self.level if 0 <= self.level <= MAX_PERCENT else None

    @property
    def invalid_values(self) -> tuple[str, ...]:
        return () if self.percent is not None else ("level",)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        level = reader.u8("the battery level")
        reader.finish("the battery level")
        return cls(level)

    def __bytes__(self) -> bytes:
        return ByteWriter().u8(self.level, "level").to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {"level": self.percent, "invalid_values": list(self.invalid_values)}
