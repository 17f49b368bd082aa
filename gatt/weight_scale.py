"""Weight Scale Service (0x181D): Weight Measurement and Weight Scale Feature.

Layouts: Weight Scale Service (WSS) v1.0, section 3 (Weight Scale Feature and Weight
Measurement), with the field definitions of the GATT Specification Supplement.

Weight Measurement::

    flags u8 | weight u16 | [time stamp, Date Time, flag bit 1] | [user ID u8, bit 2]
    | [BMI u16, height u16, bit 3]

Flag bit 0 selects SI (weight in 0.005 kg, height in 0.001 m) or imperial (0.01 lb,
0.1 in); BMI is in 0.1 kg/m2 either way. Bits 4-7 are reserved and kept in
``reserved_flags``. A weight of 0xFFFF means "measurement unsuccessful" (Weight field): it
decodes to ``None`` and ``"weight"`` is named in ``invalid_values``.

Trailing bytes are refused, as in every decoder of this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum, IntFlag
from typing import ClassVar, Self

from gatt.current_time import DateTime, iso, settle_timestamp
from gatt.errors import EncodeError
from gatt.reader import ByteReader, ByteWriter, flag_names, to_canonical
from gatt.uuids import CharacteristicUUID

KG_PER_LB = "0.45359237"  # exact, by definition of the international pound
M_PER_IN = "0.0254"
WEIGHT_UNSUCCESSFUL = 0xFFFF
UNKNOWN_USER = 0xFF


class WeightUnit(Enum):
    """Flag bit 0: SI (kg, m) or imperial (lb, in)."""

    KILOGRAM = "kg"
    POUND = "lb"


class WeightMeasurementFlags(IntFlag):
    IMPERIAL = 0x01
    TIMESTAMP_PRESENT = 0x02
    USER_ID_PRESENT = 0x04
    BMI_AND_HEIGHT_PRESENT = 0x08


_FLAGS_KNOWN = 0x0F

# Resolutions of the uint16 fields (Weight, BMI and Height fields), by unit system.
_WEIGHT_STEP = {WeightUnit.KILOGRAM: Decimal("0.005"), WeightUnit.POUND: Decimal("0.01")}
_HEIGHT_STEP = {WeightUnit.KILOGRAM: Decimal("0.001"), WeightUnit.POUND: Decimal("0.1")}
_BMI_STEP = Decimal("0.1")


def _scaled(raw: int, step: Decimal) -> float:
    return float(raw * step)


def _unscaled(value: float, step: Decimal, field_name: str) -> int:
    raw = int((Decimal(repr(value)) / step).to_integral_value(rounding=ROUND_HALF_EVEN))
    if not 0 <= raw <= 0xFFFF:
        raise EncodeError(field_name, f"{value} is outside 0..{0xFFFF * step}")
    return raw


@dataclass(frozen=True, slots=True)
class WeightCanonical:
    """Weight in kg and height in m; BMI is already kg/m2."""

    weight_kg: float | None
    height_m: float | None
    bmi: float | None


@dataclass(frozen=True, slots=True)
class WeightMeasurement:
    """Weight Measurement (0x2A9D). ``weight=None`` is sent as "measurement unsuccessful".

    ``height`` is in metres (SI) or inches (imperial); ``bmi`` and ``height`` come together.
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.WEIGHT_MEASUREMENT

    weight: float | None
    unit: WeightUnit = WeightUnit.KILOGRAM
    timestamp: datetime | None = None
    user_id: int | None = None
    bmi: float | None = None
    height: float | None = None
    reserved_flags: int = 0
    timestamp_raw: DateTime | None = None
    invalid_values: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if self.reserved_flags & ~0xFF or self.reserved_flags & _FLAGS_KNOWN:
            raise ValueError("reserved_flags must only use the reserved flag bits 4-7 (0xF0)")
        if (self.bmi is None) != (self.height is None):
            raise ValueError("bmi and height are sent together: give both or neither")
        invalid: tuple[str, ...] = ("weight",) if self.weight is None else ()
        object.__setattr__(self, "invalid_values", invalid + settle_timestamp(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        flags = reader.u8("the flags")
        unit = WeightUnit.POUND if flags & WeightMeasurementFlags.IMPERIAL else WeightUnit.KILOGRAM
        raw_weight = reader.u16("the weight")
        raw_time = None
        if flags & WeightMeasurementFlags.TIMESTAMP_PRESENT:
            raw_time = DateTime.read(reader, "the time stamp")
        user_id = None
        if flags & WeightMeasurementFlags.USER_ID_PRESENT:
            user_id = reader.u8("the user ID")
        bmi = height = None
        if flags & WeightMeasurementFlags.BMI_AND_HEIGHT_PRESENT:
            bmi = _scaled(reader.u16("the BMI"), _BMI_STEP)
            height = _scaled(reader.u16("the height"), _HEIGHT_STEP[unit])
        reader.finish(f"the fields announced by flags 0x{flags:02X}")
        return cls(
            weight=None if raw_weight == WEIGHT_UNSUCCESSFUL
            else _scaled(raw_weight, _WEIGHT_STEP[unit]),
            unit=unit,
            user_id=user_id,
            bmi=bmi,
            height=height,
            reserved_flags=flags & ~_FLAGS_KNOWN,
            timestamp_raw=raw_time,
        )

    def __bytes__(self) -> bytes:
        flags = WeightMeasurementFlags(0)
        if self.unit is WeightUnit.POUND:
            flags |= WeightMeasurementFlags.IMPERIAL
        if self.timestamp_raw is not None:
            flags |= WeightMeasurementFlags.TIMESTAMP_PRESENT
        if self.user_id is not None:
            flags |= WeightMeasurementFlags.USER_ID_PRESENT
        if self.bmi is not None:
            flags |= WeightMeasurementFlags.BMI_AND_HEIGHT_PRESENT
        writer = ByteWriter().u8(int(flags) | self.reserved_flags, "flags")
        if self.weight is None:
            writer.u16(WEIGHT_UNSUCCESSFUL, "weight")
        else:
            raw_weight = _unscaled(self.weight, _WEIGHT_STEP[self.unit], "weight")
            if raw_weight == WEIGHT_UNSUCCESSFUL:
                raise EncodeError("weight", "0xFFFF is reserved for 'measurement unsuccessful'")
            writer.u16(raw_weight, "weight")
        if self.timestamp_raw is not None:
            self.timestamp_raw.write(writer, "timestamp")
        if self.user_id is not None:
            writer.u8(self.user_id, "user_id")
        if self.bmi is not None and self.height is not None:
            writer.u16(_unscaled(self.bmi, _BMI_STEP, "bmi"), "bmi")
            writer.u16(_unscaled(self.height, _HEIGHT_STEP[self.unit], "height"), "height")
        return writer.to_bytes()

    @property
    def canonical(self) -> WeightCanonical:
        imperial = self.unit is WeightUnit.POUND
        weight, height = self.weight, self.height
        if imperial and weight is not None:
            weight = to_canonical(weight, multiply=KG_PER_LB)
        if imperial and height is not None:
            height = to_canonical(height, multiply=M_PER_IN)
        return WeightCanonical(weight_kg=weight, height_m=height, bmi=self.bmi)

    def to_json_dict(self) -> dict[str, object]:
        canonical = self.canonical
        return {
            "unit": self.unit.value,
            "weight": self.weight,
            "timestamp": iso(self.timestamp),
            "user_id": self.user_id,
            "bmi": self.bmi,
            "height": self.height,
            "invalid_values": list(self.invalid_values),
            "canonical": {
                "weight_kg": canonical.weight_kg,
                "height_m": canonical.height_m,
                "bmi": canonical.bmi,
            },
        }


class WeightScaleFeatureFlags(IntFlag):
    """Weight Scale Feature bits 0-2; bits 3-9 hold the resolutions."""

    TIMESTAMP_SUPPORTED = 0x01
    MULTIPLE_USERS_SUPPORTED = 0x02
    BMI_SUPPORTED = 0x04


_NO_WEIGHT_SCALE_FEATURE_FLAGS = WeightScaleFeatureFlags(0)


# Weight Scale Feature resolution codes; 0 = not specified, higher codes are reserved.
WEIGHT_RESOLUTIONS: dict[int, tuple[float, float]] = {
    1: (0.5, 1.0), 2: (0.2, 0.5), 3: (0.1, 0.2), 4: (0.05, 0.1),
    5: (0.02, 0.05), 6: (0.01, 0.02), 7: (0.005, 0.01),
}
HEIGHT_RESOLUTIONS: dict[int, tuple[float, float]] = {1: (0.01, 1.0), 2: (0.005, 0.5),
                                                      3: (0.001, 0.1)}


@dataclass(frozen=True, slots=True)
class WeightScaleFeature:
    """Weight Scale Feature (0x2A9E): a uint32 of flags and two resolution codes.

    ``weight_resolution`` (bits 3-6) and ``height_resolution`` (bits 7-9) are the codes as
    sent; :attr:`weight_resolution_kg_lb` and :attr:`height_resolution_m_in` translate them.
    Bits 10-31 are reserved and kept in ``reserved_flags``.
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.WEIGHT_SCALE_FEATURE

    features: WeightScaleFeatureFlags = _NO_WEIGHT_SCALE_FEATURE_FLAGS
    weight_resolution: int = 0
    height_resolution: int = 0
    reserved_flags: int = 0

    def __post_init__(self) -> None:
        if int(self.features) & ~0x07:
            raise ValueError("features holds only bits 0-2")
        if not 0 <= self.weight_resolution <= 0x0F or not 0 <= self.height_resolution <= 0x07:
            raise ValueError("weight_resolution is a 4-bit code, height_resolution a 3-bit code")
        if self.reserved_flags & ~0xFFFF_FC00:
            raise ValueError("reserved_flags must only use the reserved bits 10-31")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        raw = reader.u32("the weight scale feature")
        reader.finish("the weight scale feature")
        return cls(
            features=WeightScaleFeatureFlags(raw & 0x07),
            weight_resolution=(raw >> 3) & 0x0F,
            height_resolution=(raw >> 7) & 0x07,
            reserved_flags=raw & 0xFFFF_FC00,
        )

    def __bytes__(self) -> bytes:
        raw = (int(self.features) | self.weight_resolution << 3 | self.height_resolution << 7
               | self.reserved_flags)
        return ByteWriter().u32(raw, "features").to_bytes()

    @property
    def weight_resolution_kg_lb(self) -> tuple[float, float] | None:
        """(kg, lb) resolution, or ``None`` when not specified or reserved."""
        return WEIGHT_RESOLUTIONS.get(self.weight_resolution)

    @property
    def height_resolution_m_in(self) -> tuple[float, float] | None:
        """(m, in) resolution, or ``None`` when not specified or reserved."""
        return HEIGHT_RESOLUTIONS.get(self.height_resolution)

    def to_json_dict(self) -> dict[str, object]:
        weight = self.weight_resolution_kg_lb
        height = self.height_resolution_m_in
        return {
            "features": flag_names(int(self.features), WeightScaleFeatureFlags, 3),
            "weight_resolution": {"kg": weight[0], "lb": weight[1]} if weight else None,
            "height_resolution": {"m": height[0], "in": height[1]} if height else None,
            "reserved_flags": self.reserved_flags,
        }
