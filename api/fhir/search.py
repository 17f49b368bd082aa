"""FHIR search parameters: ``date`` (with prefixes), ``code`` tokens and ``patient``.

A date without a time stands for its whole day (month, year) in the patient's local time
zone, as FHIR's implicit-range rule says; a prefix compares the measurement time with that
range: eq inside, ge/gt at or after its start/end, le/lt before its end/start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.errors import InvalidRequest
from api.fhir.resources import LOINC, OBSERVATION_TYPES, TYPES_BY_CODE

_DATE = re.compile(
    r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
SUPPORTED_PREFIXES = ("eq", "gt", "lt", "ge", "le")


@dataclass(frozen=True)
class TimeBound:
    """measured_at ``op`` ``at``, with op one of >=, <."""

    op: str
    at: datetime


def _range(match: re.Match[str], zone: ZoneInfo) -> tuple[datetime, datetime]:
    year = int(match["year"])
    month, day = match["month"], match["day"]
    if month is None:
        return (datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone))
    if day is None:
        first = date(year, int(month), 1)
        after = date(year + (first.month == 12), first.month % 12 + 1, 1)
        return (datetime.combine(first, time.min, zone), datetime.combine(after, time.min, zone))
    day_date = date(year, int(month), int(day))
    if match["time"] is None:
        return (
            datetime.combine(day_date, time.min, zone),
            datetime.combine(day_date + timedelta(days=1), time.min, zone),
        )
    text = f"{match['year']}-{month}-{day}T{match['time']}"
    tz = match["tz"]
    start = datetime.fromisoformat(text + (tz.replace("Z", "+00:00") if tz else ""))
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    precision = timedelta(minutes=1) if match["time"].count(":") == 1 else timedelta(seconds=1)
    return start, start + precision


def parse_dates(values: Iterable[str], timezone: str) -> list[TimeBound]:
    zone = ZoneInfo(timezone)
    bounds: list[TimeBound] = []
    for value in values:
        match = _DATE.match(value)
        if match is None:
            raise InvalidRequest(f"date={value!r} is not a FHIR date search value, e.g. ge2026-01-31")
        if not 1900 <= int(match["year"]) <= 9000:
            raise InvalidRequest(f"date={value!r}: the year must be between 1900 and 9000")
        prefix = match["prefix"] or "eq"
        if prefix not in SUPPORTED_PREFIXES:
            raise InvalidRequest(
                f"date prefix {prefix!r} is not supported; use one of {list(SUPPORTED_PREFIXES)}"
            )
        try:
            low, high = _range(match, zone)
        except (ValueError, OverflowError):
            raise InvalidRequest(f"date={value!r} is not a valid date") from None
        if prefix == "eq":
            bounds += [TimeBound(">=", low), TimeBound("<", high)]
        elif prefix == "ge":
            bounds.append(TimeBound(">=", low))
        elif prefix == "gt":
            bounds.append(TimeBound(">=", high))
        elif prefix == "lt":
            bounds.append(TimeBound("<", low))
        else:  # le
            bounds.append(TimeBound("<", high))
    return bounds


def parse_codes(values: Iterable[str]) -> list[str]:
    """Observation type prefixes for ``code`` tokens (``[system|]code``, comma = OR); [] = none match."""
    wanted: list[str] = []
    for value in values:
        for token in value.split(","):
            system, _, code = token.rpartition("|") if "|" in token else ("", "", token)
            if "|" in token and system != LOINC:
                continue  # another code system (or explicitly none): nothing of ours matches
            kind = TYPES_BY_CODE.get(code.strip())
            if kind is not None and kind.prefix not in wanted:
                wanted.append(kind.prefix)
    return wanted


ALL_TYPES = [t.prefix for t in OBSERVATION_TYPES]


def parse_patient(value: str) -> int:
    """``123`` or ``Patient/123``."""
    match = re.fullmatch(r"(?:Patient/)?([0-9]{1,18})", value.strip())
    if match is None:
        raise InvalidRequest(f"patient={value!r} must be a Patient id, e.g. 42 or Patient/42")
    return int(match.group(1))
