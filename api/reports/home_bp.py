"""The home blood-pressure report (ESH protocol), computed from rows; no I/O here.

Rules (docs/home-bp-report.md has them with references):

- sessions are in the citizen's local time: morning 04:00-11:59, evening 16:00-23:59
  (the same definition as the SQL function ``bp_session``); other readings are left out;
- the report covers ``days`` local calendar days ending on ``end``; the first of them
  with any reading is the first monitoring day and is discarded;
- failed readings (no systolic or diastolic value) and implausible ones are left out,
  and counted;
- mean, SD (sample) and count of systolic and diastolic, overall and per session;
- the mean is classified against the home threshold 135/85 mmHg (elevated when either
  mean reaches it);
- warnings: fewer than 12 readings or 3 days, missing sessions, sessions without a
  duplicate, readings left out, flagged readings (movement, cuff, irregular pulse).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

HOME_SYSTOLIC_THRESHOLD = 135.0
HOME_DIASTOLIC_THRESHOLD = 85.0
MIN_READINGS = 12
MIN_DAYS = 3
MORNING_HOURS = range(4, 12)  # 04:00-11:59
EVENING_HOURS = range(16, 24)  # 16:00-23:59
DEFAULT_TIMEZONE = "Europe/Copenhagen"
_FLAG_NAMES = ("body_movement", "cuff_fit_loose", "irregular_pulse", "improper_position")


class Session(StrEnum):
    MORNING = "morning"
    EVENING = "evening"


class Exclusion(StrEnum):
    FIRST_DAY = "first_day"
    FAILED = "failed"
    IMPLAUSIBLE = "implausible"
    OUTSIDE_SESSION = "outside_session"


def bp_session(ts: datetime, tz: str | ZoneInfo = DEFAULT_TIMEZONE) -> Session | None:
    """The session of a reading, by the local hour: the Python twin of SQL ``bp_session``."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    hour = ts.astimezone(zone).hour
    if hour in MORNING_HOURS:
        return Session.MORNING
    if hour in EVENING_HOURS:
        return Session.EVENING
    return None


def local_day_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """[local midnight of start, local midnight after end) as aware datetimes (DST-safe)."""
    zone = ZoneInfo(tz)
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


@dataclass(frozen=True)
class BpReading:
    """One stored blood-pressure reading, as the report needs it."""

    reading_id: str
    measured_at: datetime
    systolic: float | None
    diastolic: float | None
    pulse_rate: float | None = None
    implausible: bool = False
    implausible_reasons: tuple[str, ...] = ()
    invalid_values: tuple[str, ...] = ()
    status: Mapping[str, object] | None = field(default=None)

    @property
    def failed(self) -> bool:
        return (
            self.systolic is None
            or self.diastolic is None
            or "systolic" in self.invalid_values
            or "diastolic" in self.invalid_values
        )

    @property
    def flags(self) -> tuple[str, ...]:
        status = self.status or {}
        flags = [name for name in _FLAG_NAMES if status.get(name) is True]
        pulse_range = status.get("pulse_rate_range")
        if pulse_range not in (None, "in_range"):
            flags.append(f"pulse_rate_{pulse_range}")
        return tuple(flags)


class ReportReading(BaseModel):
    reading_id: str
    measured_at: datetime
    local_time: datetime
    local_date: date
    session: Session | None
    systolic: float | None
    diastolic: float | None
    pulse_rate: float | None
    used: bool
    excluded: Exclusion | None = Field(description="Why the reading was left out, if it was.")
    flags: list[str] = Field(description="Device status flags raised for this reading.")
    implausible_reasons: list[str]


class Stats(BaseModel):
    count: int
    systolic_mean: float | None
    systolic_sd: float | None = Field(description="Sample SD; null below 2 readings.")
    diastolic_mean: float | None
    diastolic_sd: float | None
    pulse_mean: float | None
    pulse_count: int


class ReportWarning(BaseModel):
    code: str
    severity: Literal["info", "warning"]
    message: str


class MissingSession(BaseModel):
    date: date
    session: Session


class HomeBpReport(BaseModel):
    timezone: str
    start: date = Field(description="First local day of the period.")
    end: date = Field(description="Last local day of the period (inclusive).")
    days: int
    discarded_day: date | None = Field(description="The first monitoring day, left out.")
    days_with_readings: int = Field(description="Days after the discarded day with a used reading.")
    overall: Stats
    morning: Stats
    evening: Stats
    threshold_systolic: float = HOME_SYSTOLIC_THRESHOLD
    threshold_diastolic: float = HOME_DIASTOLIC_THRESHOLD
    classification: Literal["elevated", "not_elevated", "no_data"] = Field(
        description="Mean home BP >= 135 systolic or >= 85 diastolic is 'elevated'."
    )
    meets_protocol_minimum: bool = Field(description=f"At least {MIN_READINGS} readings on {MIN_DAYS} days.")
    missing_sessions: list[MissingSession]
    warnings: list[ReportWarning]
    readings: list[ReportReading] = Field(description="Every reading in the period, used or not.")


def _stats(readings: Sequence[ReportReading]) -> Stats:
    systolic = [r.systolic for r in readings if r.systolic is not None]
    diastolic = [r.diastolic for r in readings if r.diastolic is not None]
    pulse = [r.pulse_rate for r in readings if r.pulse_rate is not None]
    return Stats(
        count=len(readings),
        systolic_mean=statistics.fmean(systolic) if systolic else None,
        systolic_sd=statistics.stdev(systolic) if len(systolic) > 1 else None,
        diastolic_mean=statistics.fmean(diastolic) if diastolic else None,
        diastolic_sd=statistics.stdev(diastolic) if len(diastolic) > 1 else None,
        pulse_mean=statistics.fmean(pulse) if pulse else None,
        pulse_count=len(pulse),
    )


def _exclusion(
    reading: BpReading, local_date: date, first_day: date | None, session: Session | None
) -> Exclusion | None:
    if local_date == first_day:
        return Exclusion.FIRST_DAY
    if reading.failed:
        return Exclusion.FAILED
    if reading.implausible:
        return Exclusion.IMPLAUSIBLE
    if session is None:
        return Exclusion.OUTSIDE_SESSION
    return None


def home_bp_report(
    rows: Iterable[BpReading], *, end: date, days: int = 7, timezone: str = DEFAULT_TIMEZONE
) -> HomeBpReport:
    """Compute the report for the ``days`` local days ending on ``end`` (inclusive)."""
    if days < 2:
        raise ValueError("a home BP report needs at least 2 days (the first is discarded)")
    zone = ZoneInfo(timezone)
    start = end - timedelta(days=days - 1)
    located = sorted(
        ((r, r.measured_at.astimezone(zone)) for r in rows),
        key=lambda pair: (pair[1], pair[0].reading_id),
    )
    located = [(r, local) for r, local in located if start <= local.date() <= end]
    first_day = located[0][1].date() if located else None

    readings: list[ReportReading] = []
    for reading, local in located:
        session = bp_session(reading.measured_at, zone)
        excluded = _exclusion(reading, local.date(), first_day, session)
        readings.append(
            ReportReading(
                reading_id=reading.reading_id,
                measured_at=reading.measured_at,
                local_time=local,
                local_date=local.date(),
                session=session,
                systolic=reading.systolic,
                diastolic=reading.diastolic,
                pulse_rate=reading.pulse_rate,
                used=excluded is None,
                excluded=excluded,
                flags=list(reading.flags),
                implausible_reasons=list(reading.implausible_reasons),
            )
        )
    used = [r for r in readings if r.used]
    overall = _stats(used)
    morning = _stats([r for r in used if r.session is Session.MORNING])
    evening = _stats([r for r in used if r.session is Session.EVENING])
    days_with_readings = len({r.local_date for r in used})
    meets_minimum = overall.count >= MIN_READINGS and days_with_readings >= MIN_DAYS

    missing: list[MissingSession] = []
    single: list[MissingSession] = []
    if first_day is not None:
        day = first_day + timedelta(days=1)
        while day <= end:
            for session in Session:
                count = sum(1 for r in used if r.local_date == day and r.session is session)
                if count == 0:
                    missing.append(MissingSession(date=day, session=session))
                elif count == 1:
                    single.append(MissingSession(date=day, session=session))
            day += timedelta(days=1)

    return HomeBpReport(
        timezone=timezone,
        start=start,
        end=end,
        days=days,
        discarded_day=first_day,
        days_with_readings=days_with_readings,
        overall=overall,
        morning=morning,
        evening=evening,
        classification=_classify(overall),
        meets_protocol_minimum=meets_minimum,
        missing_sessions=missing,
        warnings=_warnings(
            readings,
            overall,
            days_with_readings=days_with_readings,
            missing=missing,
            single=single,
            first_day=first_day,
        ),
        readings=readings,
    )


def _classify(overall: Stats) -> Literal["elevated", "not_elevated", "no_data"]:
    if overall.systolic_mean is None or overall.diastolic_mean is None:
        return "no_data"
    if overall.systolic_mean >= HOME_SYSTOLIC_THRESHOLD or overall.diastolic_mean >= HOME_DIASTOLIC_THRESHOLD:
        return "elevated"
    return "not_elevated"


def _warnings(
    readings: Sequence[ReportReading],
    overall: Stats,
    *,
    days_with_readings: int,
    missing: Sequence[MissingSession],
    single: Sequence[MissingSession],
    first_day: date | None,
) -> list[ReportWarning]:
    out: list[ReportWarning] = []

    def add(code: str, severity: Literal["info", "warning"], message: str) -> None:
        out.append(ReportWarning(code=code, severity=severity, message=message))

    if not readings:
        add("no_readings", "warning", "there are no blood-pressure readings in this period")
        return out
    excluded = {reason: sum(1 for r in readings if r.excluded is reason) for reason in Exclusion}
    if excluded[Exclusion.FIRST_DAY]:
        add(
            "first_day_discarded",
            "info",
            f"{excluded[Exclusion.FIRST_DAY]} reading(s) of the first monitoring day ({first_day}) "
            "were discarded, as the protocol prescribes",
        )
    if overall.count < MIN_READINGS:
        add(
            "too_few_readings",
            "warning",
            f"only {overall.count} valid reading(s) were used; the protocol needs at least {MIN_READINGS}",
        )
    if days_with_readings < MIN_DAYS:
        add(
            "too_few_days",
            "warning",
            f"readings from only {days_with_readings} day(s) were used; "
            f"the protocol needs at least {MIN_DAYS}",
        )
    if missing:
        listed = ", ".join(f"{m.date} {m.session}" for m in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        add(
            "missing_sessions",
            "warning",
            f"{len(missing)} session(s) without a valid reading: {listed}{more}",
        )
    if single:
        add(
            "single_reading_sessions",
            "info",
            f"{len(single)} session(s) have one reading instead of the duplicate the protocol asks for",
        )
    if excluded[Exclusion.IMPLAUSIBLE]:
        add(
            "implausible_excluded",
            "warning",
            f"{excluded[Exclusion.IMPLAUSIBLE]} implausible reading(s) were left out",
        )
    if excluded[Exclusion.FAILED]:
        add(
            "failed_excluded",
            "warning",
            f"{excluded[Exclusion.FAILED]} failed reading(s) without a systolic or diastolic value "
            "were left out",
        )
    if excluded[Exclusion.OUTSIDE_SESSION]:
        add(
            "outside_session_excluded",
            "info",
            f"{excluded[Exclusion.OUTSIDE_SESSION]} reading(s) outside the morning (04-12) and evening "
            "(16-24) windows were left out",
        )
    used = [r for r in readings if r.used]
    irregular = sum(1 for r in used if "irregular_pulse" in r.flags)
    if irregular:
        add(
            "irregular_pulse",
            "warning",
            f"the monitor detected an irregular pulse in {irregular} used reading(s); oscillometric "
            "readings can be inaccurate in atrial fibrillation",
        )
    flagged = sum(1 for r in used if set(r.flags) - {"irregular_pulse"})
    if flagged:
        add(
            "measurement_flags",
            "info",
            f"{flagged} used reading(s) carry device warnings (movement, cuff fit or position)",
        )
    return out
