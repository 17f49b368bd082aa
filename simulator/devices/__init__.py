"""The virtual health devices, one module per Bluetooth SIG profile."""

from __future__ import annotations

from datetime import datetime, tzinfo

from simulator.clock import SimClock
from simulator.devices.base import ClockSettings, DeviceProfile, VirtualDevice
from simulator.devices.blood_pressure import BloodPressureMonitor
from simulator.devices.glucose import GlucoseMeter
from simulator.devices.pulse_oximeter import PulseOximeter
from simulator.devices.thermometer import Thermometer
from simulator.devices.weight_scale import WeightScale
from simulator.model import DeviceKind

DEVICE_CLASSES: dict[DeviceKind, type[VirtualDevice]] = {
    DeviceKind.BLOOD_PRESSURE: BloodPressureMonitor,
    DeviceKind.WEIGHT_SCALE: WeightScale,
    DeviceKind.GLUCOSE: GlucoseMeter,
    DeviceKind.THERMOMETER: Thermometer,
    DeviceKind.PULSE_OXIMETER: PulseOximeter,
}


def create_device(
    kind: DeviceKind,
    profile: DeviceProfile,
    sim_clock: SimClock,
    tz: tzinfo,
    *,
    clock_reset_at: datetime | None = None,
) -> VirtualDevice:
    """A virtual device of ``kind``; attach it to a world with ``VirtualWorld.add_device``."""
    return DEVICE_CLASSES[kind](profile, sim_clock, tz, clock_reset_at=clock_reset_at)


__all__ = [
    "DEVICE_CLASSES",
    "BloodPressureMonitor",
    "ClockSettings",
    "DeviceProfile",
    "GlucoseMeter",
    "PulseOximeter",
    "Thermometer",
    "VirtualDevice",
    "WeightScale",
    "create_device",
]
