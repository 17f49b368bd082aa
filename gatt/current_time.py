"""Date Time (0x2A08) and Current Time (0x2A2B).

Date Time: GATT Specification Supplement (GSS), as used by Current Time Service (CTS)
v1.1, 3.1: ``year`` uint16 (1582..9999, 0 = unknown), ``month`` uint8 (1..12, 0 = unknown),
``day`` uint8 (1..31, 0 = unknown), then ``hours``, ``minutes``, ``seconds`` as uint8.

Current Time: CTS v1.1, 3.1: Exact Time 256 (Day Date Time = Date Time + Day of
Week, then Fractions256) followed by an Adjust Reason bit field; 10 octets in all. The
gateway writes it to set a device clock (:meth:`CurrentTime.for_datetime`).

Times are device wall-clock time with no zone, so they are naive :class:`datetime` values.
A Date Time that cannot be a ``datetime`` (a zero "unknown" field, a reserved value such as
month 13) is kept field by field in :class:`DateTime`, so it re-encodes to the same bytes;
the matching ``datetime`` is ``None`` and the field is named in ``invalid_values``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import KEEP, IntEnum, IntFlag
from typing import ClassVar, Self

from gatt.reader import ByteReader, ByteWriter, as_code, code_name, flag_names
from gatt.uuids import CharacteristicUUID

FIRST_VALID_YEAR = 1582  # CTS: the Gregorian calendar's first year; 0 means unknown


@dataclass(frozen=True, slots=True)
class DateTime:
    """A Date Time exactly as sent (0x2A08); zero in year/month/day means unknown."""

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.DATE_TIME
    SIZE: ClassVar[int] = 7

    year: int = 0
    month: int = 0
    day: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @classmethod
    def for_datetime(cls, value: datetime) -> Self:
        """The Date Time of a wall-clock time; sub-seconds and any zone are dropped."""
        return cls(value.year, value.month, value.day, value.hour, value.minute, value.second)

    @classmethod
    def read(cls, reader: ByteReader, what: str) -> Self:
        return cls(
            year=reader.u16(f"the year of {what}"),
            month=reader.u8(f"the month of {what}"),
            day=reader.u8(f"the day of {what}"),
            hours=reader.u8(f"the hours of {what}"),
            minutes=reader.u8(f"the minutes of {what}"),
            seconds=reader.u8(f"the seconds of {what}"),
        )

    def write(self, writer: ByteWriter, field_name: str) -> None:
        writer.u16(self.year, f"{field_name}.year").u8(self.month, f"{field_name}.month")
        writer.u8(self.day, f"{field_name}.day").u8(self.hours, f"{field_name}.hours")
        writer.u8(self.minutes, f"{field_name}.minutes")
        writer.u8(self.seconds, f"{field_name}.seconds")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        value = cls.read(reader, "the Date Time")
        reader.finish("the Date Time")
        return value

    def __bytes__(self) -> bytes:
        writer = ByteWriter()
        self.write(writer, "date_time")
        return writer.to_bytes()

    @property
    def is_unknown(self) -> bool:
        """True when the device says it does not know the date (a zero year/month/day)."""
        return 0 in (self.year, self.month, self.day)

    def to_datetime(self) -> datetime | None:
        """The naive ``datetime``, or ``None`` if unknown or not a valid calendar time."""
        if self.is_unknown or self.year < FIRST_VALID_YEAR:
            return None
        try:
            return datetime(self.year, self.month, self.day,  # noqa: DTZ001 - device wall clock
                            self.hours, self.minutes, self.seconds)
        except ValueError:
            return None

    @property
    def invalid_values(self) -> tuple[str, ...]:
        return () if self.to_datetime() else ("date_time",)

    def to_json_dict(self) -> dict[str, object]:
        return {
            "date_time": iso(self.to_datetime()),
            "year": self.year,
            "month": self.month,
            "day": self.day,
            "hours": self.hours,
            "minutes": self.minutes,
            "seconds": self.seconds,
            "invalid_values": list(self.invalid_values),
        }


def iso(value: datetime | None) -> str | None:
    """ISO-8601 without a zone (the device's wall clock), or ``None``."""
    return value.isoformat() if value is not None else None


def resolve_timestamp(value: datetime | None, raw: DateTime | None,
                      name: str) -> tuple[datetime | None, DateTime | None]:
    """Reconcile a model's ``datetime`` field with the Date Time it is encoded from.

    Either may be given. A ``datetime`` must be naive and is truncated to whole seconds
    (the Date Time resolution). When both are given they must agree.
    """
    if value is None:
        return (raw.to_datetime() if raw is not None else None), raw
    if value.tzinfo is not None:
        raise ValueError(f"{name} must be a naive datetime (device wall-clock time)")
    value = value.replace(microsecond=0)
    if raw is None:
        return value, DateTime.for_datetime(value)
    if raw.to_datetime() != value:
        raise ValueError(f"{name} {value} disagrees with {name}_raw {raw}")
    return value, raw


def settle_timestamp(model: object) -> tuple[str, ...]:
    """Resolve an optional ``timestamp`` / ``timestamp_raw`` pair on a frozen measurement.

    Sets both fields (see :func:`resolve_timestamp`) and returns ``("timestamp",)`` when the
    device sent a Date Time that is no usable time (all zeros, or not a calendar time), for
    the model's ``invalid_values``; otherwise ``()``.
    """
    timestamp, raw = resolve_timestamp(
        getattr(model, "timestamp"), getattr(model, "timestamp_raw"), "timestamp"  # noqa: B009
    )
    object.__setattr__(model, "timestamp", timestamp)
    object.__setattr__(model, "timestamp_raw", raw)
    return ("timestamp",) if raw is not None and timestamp is None else ()


class DayOfWeek(IntEnum):
    """Day of Week (GSS): 0 = unknown, 1 = Monday .. 7 = Sunday."""

    UNKNOWN = 0
    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


class AdjustReason(IntFlag, boundary=KEEP):
    """Adjust Reason of Current Time (CTS v1.1, 3.1); bits 4-7 are reserved."""

    MANUAL_TIME_UPDATE = 0x01
    EXTERNAL_REFERENCE_TIME_UPDATE = 0x02
    CHANGE_OF_TIME_ZONE = 0x04
    CHANGE_OF_DST = 0x08


_ADJUST_REASON_KNOWN = 0x0F
_NO_ADJUST_REASON = AdjustReason(0)


@dataclass(frozen=True, slots=True)
class CurrentTime:
    """Current Time (0x2A2B): the device clock, or the value the gateway writes to it."""

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.CURRENT_TIME

    date_time: datetime | None = None
    day_of_week: DayOfWeek | int = DayOfWeek.UNKNOWN
    fractions256: int = 0
    adjust_reason: AdjustReason = _NO_ADJUST_REASON
    reserved_flags: int = 0
    date_time_raw: DateTime | None = None
    invalid_values: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        value, raw = resolve_timestamp(self.date_time, self.date_time_raw, "date_time")
        raw = raw if raw is not None else DateTime()
        if int(self.adjust_reason) & ~_ADJUST_REASON_KNOWN:
            raise ValueError("adjust_reason holds reserved bits; put them in reserved_flags")
        if self.reserved_flags & _ADJUST_REASON_KNOWN:
            raise ValueError("reserved_flags overlaps the defined adjust-reason bits 0-3")
        object.__setattr__(self, "date_time", value)
        object.__setattr__(self, "date_time_raw", raw)
        object.__setattr__(self, "invalid_values", () if value else ("date_time",))

    @classmethod
    def for_datetime(cls, value: datetime,
                     adjust_reason: AdjustReason = AdjustReason.EXTERNAL_REFERENCE_TIME_UPDATE,
                     ) -> Self:
        """The value to write to set a device clock to the wall-clock time ``value``.

        A zone on ``value`` is dropped: devices keep local wall-clock time.
        """
        return cls(
            date_time=value.replace(microsecond=0, tzinfo=None),
            day_of_week=DayOfWeek(value.isoweekday()),
            fractions256=value.microsecond * 256 // 1_000_000,
            adjust_reason=adjust_reason,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        raw = DateTime.read(reader, "the current time")
        day_of_week = as_code(DayOfWeek, reader.u8("the day of week"))
        fractions256 = reader.u8("Fractions256")
        reason = reader.u8("the adjust reason")
        reader.finish("the adjust reason")
        return cls(
            day_of_week=day_of_week,
            fractions256=fractions256,
            adjust_reason=AdjustReason(reason & _ADJUST_REASON_KNOWN),
            reserved_flags=reason & ~_ADJUST_REASON_KNOWN,
            date_time_raw=raw,
        )

    def __bytes__(self) -> bytes:
        writer = ByteWriter()
        (self.date_time_raw or DateTime()).write(writer, "date_time")
        writer.u8(int(self.day_of_week), "day_of_week").u8(self.fractions256, "fractions256")
        writer.u8(int(self.adjust_reason) | self.reserved_flags, "adjust_reason")
        return writer.to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {
            "date_time": iso(self.date_time),
            "day_of_week": code_name(self.day_of_week),
            "fractions256": self.fractions256,
            "adjust_reason": flag_names(int(self.adjust_reason) | self.reserved_flags,
                                        AdjustReason, 8),
            "invalid_values": list(self.invalid_values),
        }
