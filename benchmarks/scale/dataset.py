"""The scale data set, as pure functions: the same citizen index always gives the same rows.

Sans-I/O, so a resumed seed regenerates exactly what an interrupted one would have written,
and the tiny-scale test can count what the seed must have stored. Each citizen has:

- a home (one gateway) and a blood-pressure monitor on user slot 1, assigned from the
  first day; every tenth citizen also a scale (weight each morning, most days);
- one year (``days``) of the ESH home protocol: a morning and an evening session a day, two
  readings two minutes apart in each, in Europe/Copenhagen local time; sessions are missed
  at the citizen's own rate, about 1 in 1000 readings is implausible (a misread cuff), and
  about 1 in 20 has a clock the gateway corrected;
- threshold alerts as ingest would have opened them (the first breach per metric and level
  while none is unresolved), resolved by a nurse two days later unless recent.

Every 200th citizen's home also has a monitor nobody is assigned to: its last 30 days of
readings are in the unassigned queue.
"""

from __future__ import annotations

import random
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from database.alerts import AlertLevel
from homevitals.contract import Kind
from homevitals.contract.ids import READING_ID_NAMESPACE
from ingest.alerts.thresholds import Direction, Thresholds, classify
from ingest.limits import implausible_reasons

TIMEZONE: Final = "Europe/Copenhagen"
ZONE: Final = ZoneInfo(TIMEZONE)
TEAMS: Final = 20
UNASSIGNED_EVERY: Final = 200  # every Nth citizen's home has an unassigned monitor
UNASSIGNED_DAYS: Final = 30
WEIGHT_EVERY: Final = 10
RESOLVE_AFTER: Final = timedelta(days=2)
BP_STATUS: Final = (
    '{"body_movement": false, "cuff_fit_loose": false, "irregular_pulse": false, '
    '"pulse_rate_range": "in_range", "improper_position": false}'
)
# The care plan's defaults (migration 0001): what ingest checks a citizen without their own.
DEFAULT_THRESHOLDS: Final = {
    "systolic": Thresholds(90, 100, 135, 160),
    "diastolic": Thresholds(50, 60, 85, 100),
    "pulse_rate": Thresholds(40, 50, 100, 120),
    "weight": Thresholds(35, 40, 150, 200),
}


@dataclass(frozen=True)
class Scale:
    citizens: int
    days: int
    end: datetime  # the data set's "now": no reading after it

    @property
    def first_day(self) -> date:
        return self.end.astimezone(ZONE).date() - timedelta(days=self.days - 1)

    @property
    def start(self) -> datetime:
        """Assignments start here: midnight of the first local day."""
        return datetime.combine(self.first_day, time(0), tzinfo=ZONE).astimezone(UTC)


def team(index: int) -> str:
    return f"team-{index % TEAMS:02d}"


def gateway_id(index: int) -> str:
    return f"gw-home-{index:05d}"


def _address(prefix: int, index: int) -> str:
    return f"A4:C1:{prefix:02X}:" + ":".join(f"{(index >> s) & 0xFF:02X}" for s in (16, 8, 0))


def bp_address(index: int) -> str:
    return _address(0x38, index)


def scale_address(index: int) -> str:
    return _address(0x39, index)


def unassigned_address(index: int) -> str:
    return _address(0x3A, index)


def has_weight(index: int) -> bool:
    return index % WEIGHT_EVERY == 0


def has_unassigned(index: int) -> bool:
    return index % UNASSIGNED_EVERY == 1


class Row(NamedTuple):
    """One reading, in the order of :data:`READING_COLUMNS` minus the database's ids."""

    measured_at: datetime
    reading_id: uuid.UUID
    kind: str
    address: str
    device_time: datetime
    time_source: str
    unit: str
    systolic: float | None
    diastolic: float | None
    mean_arterial_pressure: float | None
    pulse_rate: float | None
    value: float | None
    values_json: str
    status_json: str | None
    implausible: bool
    implausible_reasons: list[str]
    raw_uuid: str
    raw: bytes


class Alert(NamedTuple):
    metric: str
    level: str
    state: str
    reading_id: uuid.UUID
    measured_at: datetime
    value: float
    message: str
    opened_at: datetime
    resolved_at: datetime | None


def _sfloat(value: int) -> bytes:
    """An IEEE-11073 SFLOAT with exponent 0 (whole numbers below 2048)."""
    return struct.pack("<H", value & 0x0FFF)


def _bp_row(address: str, at: datetime, *, skew: timedelta, sys_: int, dia: int, pulse: int) -> Row:
    mean = (sys_ + 2 * dia) // 3
    values = {"systolic": sys_, "diastolic": dia, "mean_arterial_pressure": mean, "pulse_rate": pulse}
    reasons = implausible_reasons(Kind.BLOOD_PRESSURE, dict(values))
    # Flags 0x04: pulse rate present; mmHg, no timestamp field (the id names the device time).
    raw = b"\x04" + _sfloat(sys_) + _sfloat(dia) + _sfloat(mean) + _sfloat(pulse)
    device_time = (at + skew).astimezone(ZONE).replace(tzinfo=None)
    name = f"v1|{address}|1|d:{device_time:%Y-%m-%dT%H:%M:%S}|2a35|{raw.hex()}"
    return Row(
        measured_at=at,
        reading_id=uuid.uuid5(READING_ID_NAMESPACE, name),
        kind="blood_pressure",
        address=address,
        device_time=device_time,
        time_source="device_corrected" if skew else "device",
        unit="mmHg",
        systolic=float(sys_),
        diastolic=float(dia),
        mean_arterial_pressure=float(mean),
        pulse_rate=float(pulse),
        value=None,
        values_json=(
            f'{{"systolic": {sys_}, "diastolic": {dia}, "mean_arterial_pressure": {mean}, '
            f'"pulse_rate": {pulse}}}'
        ),
        status_json=BP_STATUS,
        implausible=bool(reasons),
        implausible_reasons=reasons,
        raw_uuid="2a35",
        raw=raw,
    )


def _weight_row(address: str, at: datetime, kg: float) -> Row:
    raw = b"\x00" + struct.pack("<H", round(kg / 0.005))
    device_time = at.astimezone(ZONE).replace(tzinfo=None)
    name = f"v1|{address}|1|d:{device_time:%Y-%m-%dT%H:%M:%S}|2a9d|{raw.hex()}"
    return Row(
        measured_at=at,
        reading_id=uuid.uuid5(READING_ID_NAMESPACE, name),
        kind="weight",
        address=address,
        device_time=device_time,
        time_source="device",
        unit="kg",
        systolic=None,
        diastolic=None,
        mean_arterial_pressure=None,
        pulse_rate=None,
        value=kg,
        values_json=f'{{"weight": {kg}}}',
        status_json=None,
        implausible=bool(implausible_reasons(Kind.WEIGHT, {"weight": kg})),
        implausible_reasons=implausible_reasons(Kind.WEIGHT, {"weight": kg}),
        raw_uuid="2a9d",
        raw=raw,
    )


def _local(day: date, minutes: int) -> datetime:
    return (datetime.combine(day, time(0), tzinfo=ZONE) + timedelta(minutes=minutes)).astimezone(UTC)


def bp_readings(
    index: int, scale: Scale, address: str | None = None, days: int | None = None
) -> Iterator[Row]:
    """One citizen's (or one unassigned monitor's) home-BP readings, oldest first."""
    rng = random.Random(index * 7919 + 1)  # noqa: S311 - reproducible test data, not secrets
    base_sys, base_dia, base_pulse = rng.gauss(138, 14), rng.gauss(84, 8), rng.gauss(70, 8)
    miss = rng.uniform(0.02, 0.3)
    address = address or bp_address(index)
    span = scale.days if days is None else days
    first = scale.end.astimezone(ZONE).date() - timedelta(days=span - 1)
    for d in range(span):
        day = first + timedelta(days=d)
        drift = rng.gauss(0, 4)
        for start_min, spread in ((7 * 60, 90), (20 * 60, 120)):
            if rng.random() < miss:
                continue  # a missed session
            at = _local(day, start_min + rng.randrange(spread))
            skew = timedelta(seconds=rng.randrange(-900, 900)) if rng.random() < 0.05 else timedelta(0)
            for pair in range(2):
                moment = at + timedelta(minutes=2 * pair)
                if moment > scale.end:
                    return
                sys_ = round(base_sys + drift + rng.gauss(0, 6))
                dia = round(base_dia + drift / 2 + rng.gauss(0, 4))
                pulse = round(base_pulse + rng.gauss(0, 5))
                if rng.random() < 0.001:
                    sys_ = rng.choice((12, 310))  # a misread cuff: implausible, kept and flagged
                yield _bp_row(address, moment, skew=skew, sys_=sys_, dia=max(dia, 30), pulse=max(pulse, 35))


def weight_readings(index: int, scale: Scale) -> Iterator[Row]:
    rng = random.Random(index * 104729 + 3)  # noqa: S311 - reproducible test data
    base = rng.gauss(78, 14)
    for d in range(scale.days):
        day = scale.first_day + timedelta(days=d)
        if rng.random() < 0.3:
            continue
        at = _local(day, 7 * 60 + 30 + rng.randrange(60))
        if at > scale.end:
            return
        yield _weight_row(scale_address(index), at, round(base + rng.gauss(0, 0.6), 1))


_METRIC_COLUMNS: Final = {
    "blood_pressure": (("systolic", "systolic"), ("diastolic", "diastolic"), ("pulse_rate", "pulse_rate")),
    "weight": (("weight", "value"),),
}
_UNITS: Final = {"systolic": "mmHg", "diastolic": "mmHg", "pulse_rate": "/min", "weight": "kg"}


def alerts(rows: list[Row], scale: Scale) -> list[Alert]:
    """The threshold alerts ingest would have opened for one citizen's readings (in order)."""
    unresolved: dict[tuple[str, str], datetime] = {}
    out: list[Alert] = []
    recent = scale.end - RESOLVE_AFTER
    for row in sorted(rows, key=lambda r: r.measured_at):
        if row.implausible:
            continue
        for key in [k for k, opened in unresolved.items() if opened + RESOLVE_AFTER <= row.measured_at]:
            del unresolved[key]  # resolved by a nurse by now
        for metric, column in _METRIC_COLUMNS[row.kind]:
            value = getattr(row, column)
            breach = classify(value, DEFAULT_THRESHOLDS[metric])
            if breach is None or (metric, breach.level) in unresolved:
                continue
            unresolved[(metric, breach.level)] = row.measured_at
            resolved = row.measured_at + RESOLVE_AFTER if row.measured_at < recent else None
            relation = "at or above" if breach.direction is Direction.HIGH else "below"
            out.append(
                Alert(
                    metric=metric,
                    level=str(breach.level),
                    state="resolved"
                    if resolved
                    else ("open" if breach.level is AlertLevel.ALERT else "acknowledged"),
                    reading_id=row.reading_id,
                    measured_at=row.measured_at,
                    value=value,
                    message=(
                        f"{metric} {value:g} {_UNITS[metric]} is {relation} the {breach.level} "
                        f"limit {breach.limit:g}"
                    ),
                    opened_at=row.measured_at + timedelta(seconds=5),
                    resolved_at=resolved,
                )
            )
    return out


def expected_counts(scale: Scale) -> dict[str, int]:
    """What a complete seed stores (the tiny-scale test checks the database against it)."""
    counts = {"citizens": scale.citizens, "readings": 0, "unassigned": 0, "alerts": 0, "implausible": 0}
    for index in range(1, scale.citizens + 1):
        rows = list(bp_readings(index, scale))
        if has_weight(index):
            rows += list(weight_readings(index, scale))
        counts["readings"] += len(rows)
        counts["implausible"] += sum(r.implausible for r in rows)
        counts["alerts"] += len(alerts(rows, scale))
        if has_unassigned(index):
            extra = list(unassigned_rows(index, scale))
            counts["readings"] += len(extra)
            counts["unassigned"] += len(extra)
    return counts


def unassigned_rows(index: int, scale: Scale) -> Iterator[Row]:
    return bp_readings(index + 1_000_000, scale, address=unassigned_address(index), days=UNASSIGNED_DAYS)
