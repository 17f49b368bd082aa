"""Scenario files: a household of virtual devices, the citizens who measure, and when.

A scenario is YAML (see ``simulator/scenarios/`` and docs/simulator.md). ``load_scenario``
validates it completely before anything starts, and says what is wrong and where.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulator.devices import ClockSettings, DeviceProfile
from simulator.errors import ScenarioError
from simulator.model import DeviceKind, FaultKind

_ADDRESS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_IDENTIFIER = r"^[a-z0-9][a-z0-9_-]{0,63}$"

# What a device of each kind is called, and sells as, unless the scenario says otherwise.
DEFAULT_IDENTITY: dict[DeviceKind, tuple[str, str, str]] = {
    DeviceKind.BLOOD_PRESSURE: ("A&D_UA-651", "A&D Medical", "UA-651BLE"),
    DeviceKind.WEIGHT_SCALE: ("A&D_UC-352", "A&D Medical", "UC-352BLE"),
    DeviceKind.GLUCOSE: ("Contour Next One", "Ascensia Diabetes Care", "Contour Next One"),
    DeviceKind.THERMOMETER: ("TH-EAR", "homevitals sim", "TH-EAR-1"),
    DeviceKind.PULSE_OXIMETER: ("PO-SPOT", "homevitals sim", "PO-SPOT-1"),
}

# The values each kind measures (canonical units), with a typical adult's baseline, the
# day-to-day standard deviation and the reading-to-reading standard deviation.
VALUE_DEFAULTS: dict[DeviceKind, dict[str, tuple[float, float, float]]] = {
    DeviceKind.BLOOD_PRESSURE: {
        "systolic": (135.0, 6.0, 4.0),
        "diastolic": (85.0, 4.0, 3.0),
        "pulse_rate": (70.0, 4.0, 3.0),
    },
    DeviceKind.WEIGHT_SCALE: {"weight": (80.0, 0.4, 0.1)},
    DeviceKind.GLUCOSE: {"glucose": (6.5, 0.8, 0.3)},
    DeviceKind.THERMOMETER: {"temperature": (36.8, 0.2, 0.1)},
    DeviceKind.PULSE_OXIMETER: {"spo2": (96.0, 1.0, 0.7), "pulse_rate": (72.0, 4.0, 3.0)},
}

PROTOCOL_DEFAULTS: dict[str, tuple[tuple[str, ...], int]] = {
    # ESH home BP monitoring: two readings one minute apart, morning and evening, 7 days.
    "esh_home_bp": (("07:30", "20:30"), 2),
    "daily": (("08:00",), 1),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClockSpec(_Model):
    """How wrong the device clock is when the simulation starts."""

    offset_seconds: float = Field(0.0, description="clock ahead (+) or behind (-) local time")
    drift_seconds_per_day: float = Field(0.0, description="fast (+) or slow (-) per day")
    unset: bool = Field(default=False, description="reset to 2000-01-01 00:00 (battery change)")


class FaultRule(_Model):
    """Which measurements on a device go wrong, and how."""

    kind: FaultKind
    on_measurements: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list,
        description="1-based numbers of the measurements made on this device during the run",
    )
    probability: float = Field(0.0, ge=0.0, le=1.0, description="chance for any measurement")

    @field_validator("kind", mode="before")
    @classmethod
    def _aliases(cls, value: object) -> object:
        # "kpa" is what people call the BP case of the alternative unit.
        return FaultKind.ALT_UNIT if value in ("kpa", "kPa") else value


class DeviceSpec(_Model):
    """One virtual device and its behaviour knobs."""

    id: str = Field(pattern=_IDENTIFIER)
    kind: DeviceKind
    address: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str = "0000001"
    firmware: str = "1.0"
    hardware: str | None = None
    battery: int = Field(100, ge=0, le=100)
    user_slots: int = Field(1, ge=1, le=254)
    rssi: int = Field(-60, ge=-127, le=20)
    advertise_seconds: float | None = Field(
        None, gt=0, description="advertise this long (wall seconds) after a measurement; null: always"
    )
    advertise_at_start: bool = Field(
        default=True, description="open an advertising window at start if records are stored"
    )
    advertising_interval_ms: float = Field(100.0, ge=20.0, le=10_240.0)
    backlog: int = Field(0, ge=0, description="stored records already in memory at start")
    memory_size: int = Field(100, ge=1, le=65_535)
    requires_bonding: bool = False
    drop_after_n_indications: int | None = Field(None, ge=1)
    drop_connections: int = Field(1, ge=0, description="how many connections to drop; 0: all")
    clock: ClockSpec = ClockSpec()
    faults: list[FaultRule] = Field(default_factory=list)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError("must look like A4:C1:38:00:11:22")
        return value.upper()

    def profile(self) -> DeviceProfile:
        name, manufacturer, model = DEFAULT_IDENTITY[self.kind]
        return DeviceProfile(
            address=self.address,
            id=self.id,
            name=self.name or name,
            manufacturer=self.manufacturer or manufacturer,
            model=self.model or model,
            serial=self.serial,
            firmware=self.firmware,
            hardware=self.hardware,
            battery=self.battery,
            user_slots=self.user_slots,
            rssi=self.rssi,
            advertise_seconds=self.advertise_seconds,
            advertising_interval_ms=self.advertising_interval_ms,
            memory_size=self.memory_size,
            requires_bonding=self.requires_bonding,
            drop_after_n_indications=self.drop_after_n_indications,
            drop_connections=self.drop_connections,
            clock=ClockSettings(
                offset_seconds=self.clock.offset_seconds,
                drift_seconds_per_day=self.clock.drift_seconds_per_day,
                unset=self.clock.unset,
            ),
        )


class ScheduleSpec(_Model):
    """When a citizen measures on one device, and around which values."""

    device: str
    user_slot: int | None = Field(None, ge=1, le=254)
    protocol: Literal["esh_home_bp", "daily"] = "daily"
    days: int = Field(7, ge=1, le=3650)
    start_date: date | None = Field(None, description="first local day; default: next session")
    sessions: list[str] | None = Field(None, description='local times, e.g. ["07:30", "20:30"]')
    readings_per_session: int | None = Field(None, ge=1, le=10)
    reading_interval_seconds: float = Field(60.0, gt=0, le=3600)
    jitter_minutes: float = Field(15.0, ge=0, le=180)
    skip_probability: float = Field(0.0, ge=0.0, le=1.0)
    baseline: dict[str, float] = Field(default_factory=dict)
    day_to_day_sd: dict[str, float] = Field(default_factory=dict)
    reading_sd: dict[str, float] = Field(default_factory=dict)

    @field_validator("sessions")
    @classmethod
    def _sessions(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("needs at least one session time")
            for text in value:
                time.fromisoformat(text)  # ValueError names the bad time
        return value

    def session_times(self) -> list[time]:
        texts = self.sessions or PROTOCOL_DEFAULTS[self.protocol][0]
        return sorted(time.fromisoformat(t) for t in texts)

    def readings(self) -> int:
        return self.readings_per_session or PROTOCOL_DEFAULTS[self.protocol][1]


class CitizenSpec(_Model):
    id: str = Field(pattern=_IDENTIFIER)
    name: str | None = None
    schedules: list[ScheduleSpec] = Field(default_factory=list)


class Scenario(_Model):
    """A household: its devices, its citizens and their measurement schedules."""

    name: str = ""
    description: str = ""
    seed: int = 0
    timezone: str = "Europe/Copenhagen"
    start: datetime | None = Field(None, description="pin the simulated clock (aware time)")
    history_days: int = Field(0, ge=0, le=3650)
    devices: list[DeviceSpec] = Field(min_length=1)
    citizens: list[CitizenSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("start")
    @classmethod
    def _start(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-11-23T06:00:00+01:00")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [d.id for d in self.devices]
        addresses = [d.address for d in self.devices]
        for label, values in (("device id", ids), ("device address", addresses)):
            if duplicates := sorted({v for v in values if values.count(v) > 1}):
                raise ValueError(f"{label} used twice: {', '.join(duplicates)}")
        citizen_ids = [c.id for c in self.citizens]
        if duplicates := sorted({v for v in citizen_ids if citizen_ids.count(v) > 1}):
            raise ValueError(f"citizen id used twice: {', '.join(duplicates)}")
        devices = {d.id: d for d in self.devices}
        slot_owner: dict[tuple[str, int | None], str] = {}
        for citizen in self.citizens:
            for schedule in citizen.schedules:
                device = devices.get(schedule.device)
                where = f"citizen {citizen.id}"
                if device is None:
                    raise ValueError(f"{where}: no device with id {schedule.device!r}")
                if schedule.user_slot is not None and schedule.user_slot > device.user_slots:
                    raise ValueError(
                        f"{where}: {device.id} has {device.user_slots} user slot(s), "
                        f"not {schedule.user_slot}"
                    )
                allowed = VALUE_DEFAULTS[device.kind]
                for field in ("baseline", "day_to_day_sd", "reading_sd"):
                    unknown = set(getattr(schedule, field)) - set(allowed)
                    if unknown:
                        raise ValueError(
                            f"{where}: {field} for a {device.kind} device takes "
                            f"{', '.join(sorted(allowed))}, not {', '.join(sorted(unknown))}"
                        )
                owner = slot_owner.setdefault((device.id, schedule.user_slot), citizen.id)
                if owner != citizen.id:
                    raise ValueError(
                        f"{where}: user slot {schedule.user_slot} of {device.id} "
                        f"already belongs to {owner}"
                    )
        return self

    def device(self, device_id: str) -> DeviceSpec:
        return next(d for d in self.devices if d.id == device_id)


def parse_scenario(data: Any, source: Path | str = "<scenario>") -> Scenario:
    """Validate already-parsed YAML/JSON data."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in issue['loc']) or 'scenario'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise ScenarioError(source, problems) from error


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file; raises ``ScenarioError`` saying what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(path, f"cannot read it: {error.strerror or error}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ScenarioError(path, f"not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ScenarioError(path, "must be a mapping with at least a 'devices' list")
    return parse_scenario(data, path)
