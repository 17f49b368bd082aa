"""The one table of Bluetooth SIG 16-bit UUIDs the gateway uses.

Values are from the Bluetooth SIG Assigned Numbers document, section 3.4 (services) and
3.8 (characteristics). bleak names attributes by their 128-bit form, which :func:`uuid128`
builds from the Bluetooth Base UUID (Core Specification, Vol 3, Part B, 2.5.1).
"""

from __future__ import annotations

from enum import IntEnum

_BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


class ServiceUUID(IntEnum):
    """GATT services of the health devices the gateway reads."""

    CURRENT_TIME = 0x1805
    GLUCOSE = 0x1808
    HEALTH_THERMOMETER = 0x1809
    DEVICE_INFORMATION = 0x180A
    BATTERY = 0x180F
    BLOOD_PRESSURE = 0x1810
    WEIGHT_SCALE = 0x181D
    PULSE_OXIMETER = 0x1822


class CharacteristicUUID(IntEnum):
    """GATT characteristics decoded by :mod:`gatt`."""

    DATE_TIME = 0x2A08
    BATTERY_LEVEL = 0x2A19
    TEMPERATURE_MEASUREMENT = 0x2A1C
    TEMPERATURE_TYPE = 0x2A1D
    INTERMEDIATE_TEMPERATURE = 0x2A1E
    GLUCOSE_MEASUREMENT = 0x2A18
    SYSTEM_ID = 0x2A23
    MODEL_NUMBER_STRING = 0x2A24
    SERIAL_NUMBER_STRING = 0x2A25
    FIRMWARE_REVISION_STRING = 0x2A26
    HARDWARE_REVISION_STRING = 0x2A27
    MANUFACTURER_NAME_STRING = 0x2A29
    CURRENT_TIME = 0x2A2B
    GLUCOSE_MEASUREMENT_CONTEXT = 0x2A34
    BLOOD_PRESSURE_MEASUREMENT = 0x2A35
    INTERMEDIATE_CUFF_PRESSURE = 0x2A36
    BLOOD_PRESSURE_FEATURE = 0x2A49
    GLUCOSE_FEATURE = 0x2A51
    RECORD_ACCESS_CONTROL_POINT = 0x2A52
    PLX_SPOT_CHECK_MEASUREMENT = 0x2A5E
    PLX_CONTINUOUS_MEASUREMENT = 0x2A5F
    PLX_FEATURES = 0x2A60
    WEIGHT_MEASUREMENT = 0x2A9D
    WEIGHT_SCALE_FEATURE = 0x2A9E


def uuid128(short: int) -> str:
    """The lowercase 128-bit string of a 16-bit SIG UUID, as bleak reports it.

    >>> uuid128(CharacteristicUUID.BLOOD_PRESSURE_MEASUREMENT)
    '00002a35-0000-1000-8000-00805f9b34fb'
    """
    if not 0 <= short <= 0xFFFF:
        raise ValueError(f"a 16-bit UUID is 0x0000..0xFFFF, got {short:#x}")
    return f"0000{short:04x}{_BASE_UUID_SUFFIX}"
