"""GATT services every virtual device carries: Device Information, Battery, Current Time.

Also the building blocks for measurement characteristics: a Client Characteristic
Configuration descriptor that refuses subscriptions until the link is encrypted (bonded).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bumble import att, gatt
from bumble.device import Connection

from gatt.current_time import AdjustReason, CurrentTime, DayOfWeek
from simulator import gatt_ids
from simulator.clock import DeviceClock

Props = gatt.Characteristic.Properties
Perms = att.Attribute.Permissions

# CTS 1.1, 3.1: Exact Time 256 (Day Date Time + Fractions256) followed by Adjust Reason.
CURRENT_TIME_LENGTH = 10
# CTS 1.1, 2.6.1 / Table 2.2: the application error "Data field ignored".
CTS_DATA_FIELD_IGNORED = 0x80


def _readonly(uuid: object, value: bytes) -> gatt.Characteristic[bytes]:
    return gatt.Characteristic(uuid, Props.READ, Perms.READABLE, value)  # type: ignore[arg-type]


def device_information_service(
    manufacturer: str, model: str, serial: str, firmware: str, hardware: str | None
) -> gatt.Service:
    """DIS 1.1: the strings the gateway puts in the reading's ``device`` block."""
    characteristics = [
        _readonly(gatt_ids.MANUFACTURER_NAME, manufacturer.encode()),
        _readonly(gatt_ids.MODEL_NUMBER, model.encode()),
        _readonly(gatt_ids.SERIAL_NUMBER, serial.encode()),
        _readonly(gatt_ids.FIRMWARE_REVISION, firmware.encode()),
    ]
    if hardware is not None:
        characteristics.append(_readonly(gatt_ids.HARDWARE_REVISION, hardware.encode()))
    return gatt.Service(gatt_ids.DEVICE_INFORMATION_SERVICE, characteristics)


def battery_service(level: Callable[[], int]) -> gatt.Service:
    """BAS 1.1: Battery Level, a uint8 percentage."""
    characteristic: gatt.Characteristic[bytes] = gatt.Characteristic(
        gatt_ids.BATTERY_LEVEL,
        Props.READ | Props.NOTIFY,
        Perms.READABLE,
        gatt.CharacteristicValue(read=lambda _connection: bytes([level()])),
    )
    return gatt.Service(gatt_ids.BATTERY_SERVICE, [characteristic])


def encode_current_time(shown: datetime) -> bytes:
    """CTS 1.1, 3.1 Current Time as the device reports its clock (no adjustment reason)."""
    return bytes(
        CurrentTime(
            date_time=shown.replace(microsecond=0),
            day_of_week=DayOfWeek(shown.isoweekday()),
            adjust_reason=AdjustReason(0),
        )
    )


def decode_current_time(value: bytes) -> datetime:
    """Parse a Current Time write; raises ``ValueError`` for bytes a device would ignore."""
    written = CurrentTime.from_bytes(value)  # DecodeError is a ValueError
    if written.date_time is None:
        raise ValueError(f"Current Time {value.hex()} holds no usable date")
    return written.date_time


def current_time_service(clock: DeviceClock, on_set: Callable[[datetime], None]) -> gatt.Service:
    """CTS 1.1 Current Time, readable and writable: the device clock follows what is written."""

    def read(_connection: Connection) -> bytes:
        return encode_current_time(clock.now())

    def write(_connection: Connection, value: bytes) -> None:
        if len(value) != CURRENT_TIME_LENGTH:
            raise att.ATT_Error(att.ATT_INVALID_ATTRIBUTE_LENGTH_ERROR)
        try:
            shown = decode_current_time(value)
        except ValueError as error:
            raise att.ATT_Error(CTS_DATA_FIELD_IGNORED) from error
        clock.set(shown)
        on_set(shown)

    characteristic: gatt.Characteristic[bytes] = gatt.Characteristic(
        gatt_ids.CURRENT_TIME,
        Props.READ | Props.WRITE | Props.NOTIFY,
        Perms.READABLE | Perms.WRITEABLE,
        gatt.CharacteristicValue(read=read, write=write),
    )
    return gatt.Service(gatt_ids.CURRENT_TIME_SERVICE, [characteristic])


IsBonded = Callable[[Connection], Awaitable[bool]]


class BondedCccd(gatt.Descriptor):
    """A CCCD that refuses to be written on a link that is not encrypted.

    The permissions carry ``WRITE_REQUIRES_ENCRYPTION`` so Bumble enforces it too; the
    override only picks the error code the Core spec asks for (Vol 3, Part C, 10.3.2):
    Insufficient Authentication when the device holds no key for the client (never bonded),
    Insufficient Encryption when it has a key but the link was not encrypted with it.
    """

    def __init__(self, is_bonded: IsBonded) -> None:
        super().__init__(
            gatt.GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
            Perms.READABLE | Perms.WRITEABLE | Perms.WRITE_REQUIRES_ENCRYPTION,
        )
        self._is_bonded = is_bonded

    async def write_value(self, bearer: att.Bearer, value: bytes) -> None:
        connection = bearer.connection if att.is_enhanced_bearer(bearer) else bearer
        if isinstance(connection, Connection) and not connection.is_encrypted:
            bonded = await self._is_bonded(connection)
            raise att.ATT_Error(
                att.ATT_INSUFFICIENT_ENCRYPTION_ERROR
                if bonded
                else att.ATT_INSUFFICIENT_AUTHENTICATION_ERROR,
                att_handle=self.handle,
            )
        await super().write_value(bearer, value)
