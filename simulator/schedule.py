"""Turn a scenario's schedules into concrete, deterministic measurements.

Each schedule draws from its own seeded random stream, so the same scenario and seed give the
same household on every run: the same times, the same values, the same faults.

Values: a per-citizen baseline, plus a per-day deviation (day-to-day variation), plus a
per-reading deviation. Blood pressure also gets the effects home monitoring protocols know
(ESH 2021 practice guideline): the first reading of a session is a little higher, and evening
readings a little lower than morning ones.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from simulator.model import DeviceKind, FaultKind, Reading
from simulator.scenario import VALUE_DEFAULTS, CitizenSpec, DeviceSpec, Scenario, ScheduleSpec

FIRST_READING_EXTRA_SYSTOLIC = 3.0
EVENING_OFFSET = {"systolic": -4.0, "diastolic": -2.0}
# Without a schedule, a device's backlog looks like two readings a day.
_FALLBACK_SESSIONS = ("08:00", "20:00")

# Display precision of each value: what the device shows and sends.
_DECIMALS = {"weight": 1, "glucose": 1, "temperature": 1}
_LIMITS = {"spo2": (70.0, 100.0)}


@dataclass(frozen=True)
class PlannedMeasurement:
    """One measurement a citizen will take (or took, for history) on one device."""

    at: datetime
    """True time, aware UTC."""
    device: str
    kind: DeviceKind
    citizen: str | None
    user_slot: int | None
    values: Mapping[str, float] = field(hash=False)
    session: str
    reading: int
    """0-based number of the reading within its session."""

    def reading_for(self, fault: FaultKind | None = None) -> Reading:
        return Reading(
            kind=self.kind,
            taken_at=self.at,
            values=dict(self.values),
            user_slot=self.user_slot,
            fault=fault,
            citizen=self.citizen,
        )


def first_day(schedule: ScheduleSpec, start: datetime, tz: tzinfo) -> date:
    """The schedule's day 0: its ``start_date``, else the first day whose sessions lie ahead."""
    if schedule.start_date is not None:
        return schedule.start_date
    local = start.astimezone(tz)
    earliest = schedule.session_times()[0]
    jitter = timedelta(minutes=schedule.jitter_minutes)
    if datetime.combine(local.date(), earliest, tz) - jitter >= local:
        return local.date()
    return local.date() + timedelta(days=1)


def _value_model(
    kind: DeviceKind, schedule: ScheduleSpec | None
) -> dict[str, tuple[float, float, float]]:
    model = dict(VALUE_DEFAULTS[kind])
    if schedule is not None:
        for name, (base, day_sd, reading_sd) in list(model.items()):
            model[name] = (
                schedule.baseline.get(name, base),
                schedule.day_to_day_sd.get(name, day_sd),
                schedule.reading_sd.get(name, reading_sd),
            )
    return model


def _finish(name: str, value: float) -> float:
    low, high = _LIMITS.get(name, (-math.inf, math.inf))
    value = min(max(value, low), high)
    decimals = _DECIMALS.get(name, 0)
    return float(round(value, decimals)) if decimals else float(round(value))


def _session_plan(
    *,
    rng: random.Random,
    device: DeviceSpec,
    citizen: str | None,
    schedule: ScheduleSpec | None,
    days: Iterable[date],
    sessions: list[time],
    readings: int,
    interval: timedelta,
    jitter_minutes: float,
    skip_probability: float,
    tz: tzinfo,
) -> list[PlannedMeasurement]:
    model = _value_model(device.kind, schedule)
    slot = schedule.user_slot if schedule is not None else (1 if device.user_slots > 1 else None)
    planned: list[PlannedMeasurement] = []
    for day in days:
        # Draw every random number of the day whether or not it is used, so that changing
        # one knob (skips, readings) does not reshuffle the rest of the household.
        day_shift = {name: rng.gauss(0.0, sd) for name, (_, sd, _) in model.items()}
        for session_number, session_time in enumerate(sessions):
            skipped = rng.random() < skip_probability
            offset = timedelta(minutes=rng.uniform(-jitter_minutes, jitter_minutes))
            noise = [
                {name: rng.gauss(0.0, sd) for name, (_, _, sd) in model.items()}
                for _ in range(readings)
            ]
            if skipped:
                continue
            begins = datetime.combine(day, session_time, tz) + offset
            label = session_label(session_time, session_number, len(sessions))
            for reading in range(readings):
                values = {}
                for name, (base, _, _) in model.items():
                    value = base + day_shift[name] + noise[reading][name]
                    if device.kind is DeviceKind.BLOOD_PRESSURE:
                        if reading == 0 and name == "systolic":
                            value += FIRST_READING_EXTRA_SYSTOLIC
                        if label == "evening":
                            value += EVENING_OFFSET.get(name, 0.0)
                    values[name] = _finish(name, value)
                planned.append(
                    PlannedMeasurement(
                        at=(begins + reading * interval).astimezone(ZoneInfo("UTC")),
                        device=device.id,
                        kind=device.kind,
                        citizen=citizen,
                        user_slot=slot,
                        values=values,
                        session=label,
                        reading=reading,
                    )
                )
    return planned


def session_label(at: time, number: int, count: int) -> str:
    """``morning``/``evening`` for the usual home-monitoring sessions, else the clock time."""
    if count > 1 and at.hour < 12 and number == 0:
        return "morning"
    if count > 1 and at.hour >= 17 and number == count - 1:
        return "evening"
    return at.strftime("%H:%M")


def _schedule_rng(scenario: Scenario, citizen: CitizenSpec, index: int, stream: str) -> random.Random:
    # String seeds are hashed with SHA-512 by random.seed: stable across runs and platforms.
    return random.Random(f"{scenario.seed}/{stream}/{citizen.id}/{index}")  # noqa: S311  (simulation, not security)


def plan_measurements(scenario: Scenario, start: datetime) -> list[PlannedMeasurement]:
    """Every measurement of the run, in time order (those before ``start`` are dropped)."""
    tz = ZoneInfo(scenario.timezone)
    planned: list[PlannedMeasurement] = []
    for citizen in scenario.citizens:
        for index, schedule in enumerate(citizen.schedules):
            day0 = first_day(schedule, start, tz)
            planned += _session_plan(
                rng=_schedule_rng(scenario, citizen, index, "run"),
                device=scenario.device(schedule.device),
                citizen=citizen.id,
                schedule=schedule,
                days=(day0 + timedelta(days=n) for n in range(schedule.days)),
                sessions=schedule.session_times(),
                readings=schedule.readings(),
                interval=timedelta(seconds=schedule.reading_interval_seconds),
                jitter_minutes=schedule.jitter_minutes,
                skip_probability=schedule.skip_probability,
                tz=tz,
            )
    return sorted((p for p in planned if p.at >= start), key=lambda p: (p.at, p.device))


def plan_stored_records(scenario: Scenario, start: datetime) -> dict[str, list[PlannedMeasurement]]:
    """What each device already holds at ``start``, oldest first, by device id.

    Every reading of the last ``history_days`` days, plus each device's ``backlog`` most
    recent readings, as its citizens' schedules would have produced them.
    """
    tz = ZoneInfo(scenario.timezone)
    today = start.astimezone(tz).date()
    stored: dict[str, list[PlannedMeasurement]] = {}
    for device in scenario.devices:
        schedules = [
            (citizen, index, schedule)
            for citizen in scenario.citizens
            for index, schedule in enumerate(citizen.schedules)
            if schedule.device == device.id
        ]
        per_day = max(
            (len(s.session_times()) * s.readings() for _, _, s in schedules), default=2
        )
        window = max(scenario.history_days, -(-device.backlog // max(per_day, 1)) + 1)
        if window == 0:
            continue
        days = [today - timedelta(days=n) for n in range(window, -1, -1)]
        past: list[PlannedMeasurement] = []
        if schedules:
            for citizen, index, schedule in schedules:
                past += _session_plan(
                    rng=_schedule_rng(scenario, citizen, index, "history"),
                    device=device,
                    citizen=citizen.id,
                    schedule=schedule,
                    days=days,
                    sessions=schedule.session_times(),
                    readings=schedule.readings(),
                    interval=timedelta(seconds=schedule.reading_interval_seconds),
                    jitter_minutes=schedule.jitter_minutes,
                    skip_probability=schedule.skip_probability,
                    tz=tz,
                )
        else:
            past = _session_plan(
                rng=random.Random(f"{scenario.seed}/backlog/{device.id}"),  # noqa: S311  (simulation)
                device=device,
                citizen=None,
                schedule=None,
                days=days,
                sessions=[time.fromisoformat(t) for t in _FALLBACK_SESSIONS],
                readings=1,
                interval=timedelta(minutes=1),
                jitter_minutes=15.0,
                skip_probability=0.0,
                tz=tz,
            )
        past = sorted((p for p in past if p.at < start), key=lambda p: p.at)
        history_from = start - timedelta(days=scenario.history_days)
        chosen = {id(p) for p in past if scenario.history_days and p.at >= history_from}
        chosen |= {id(p) for p in past[-device.backlog :]} if device.backlog else set()
        stored[device.id] = [p for p in past if id(p) in chosen]
    return stored
