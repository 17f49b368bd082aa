"""Device clocks against the gateway clock: skew, ``measured_at`` and ``time_source``.

Pure: no I/O. Device clocks are naive wall-clock time (the gateway sets them in its
configured zone); the gateway clock is UTC.

At each connection the gateway reads the device's Current Time ``D0`` at gateway instant
``G0``. A record stamped ``T`` by the same device clock was then taken ``D0 - T`` before
``G0``: ``measured_at = G0 - (D0 - T)``. Only elapsed device time is used, so a device clock
that is hours off, or that never followed a daylight-saving change, still yields the right
instant. The skew ``D0 - wall(G0)`` is recorded and decides whether the clock is set.

Rules (docs/gateway.md, "Time"):

- record stamped, device clock read and set: ``G0 - (D0 - T)``, ``device_corrected``
  (``device`` when the skew rounds to zero seconds);
- record stamped, device clock unknown (no Current Time service, or the clock itself is
  unset): the stamp is trusted as wall-clock time in the zone, ``device``;
- record not stamped, or stamped before 2020 (the clock was unset, e.g. year 2000 after a
  battery change): the gateway's receive time, ``gateway``;
- never in the future: a ``measured_at`` later than the bytes' arrival is replaced by the
  arrival time, ``gateway``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from homevitals.contract import TimeSource

FIRST_PLAUSIBLE_YEAR = 2020  # a device clock before this was never set (reset after battery change)


def is_plausible(device_time: datetime | None) -> bool:
    return device_time is not None and device_time.year >= FIRST_PLAUSIBLE_YEAR


def _require_utc(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")


def wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time in ``zone`` at ``instant``: what a correct device shows."""
    _require_utc(instant, "instant")
    return instant.astimezone(zone).replace(tzinfo=None)


def from_wall_clock(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time in ``zone`` (first occurrence in a DST fold)."""
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _nearest_second(value: timedelta) -> timedelta:
    return timedelta(seconds=math.floor(value.total_seconds() + 0.5))


@dataclass(frozen=True, slots=True)
class ClockReading:
    """The device clock as read at one connection, and the gateway clock at that moment.

    ``fraction_s`` is the sub-second part the device reported (Current Time's Fractions256),
    or 0.5 when it reported none: a clock shown in whole seconds is on average half a second
    past the second it shows.
    """

    device_time: datetime | None  # naive, as reported; None when the device says "unknown"
    gateway_time: datetime  # UTC, when the read completed
    zone: ZoneInfo
    fraction_s: float = 0.5

    def __post_init__(self) -> None:
        _require_utc(self.gateway_time, "gateway_time")
        if self.device_time is not None and self.device_time.tzinfo is not None:
            raise ValueError("device_time must be naive, exactly as the device reported it")
        if not 0 <= self.fraction_s < 1:
            raise ValueError("fraction_s is a fraction of a second, 0 <= fraction_s < 1")

    @property
    def is_set(self) -> bool:
        return is_plausible(self.device_time)

    @property
    def _device_now(self) -> datetime | None:
        if self.device_time is None or not self.is_set:
            return None
        return self.device_time + timedelta(seconds=self.fraction_s)

    @property
    def skew(self) -> timedelta | None:
        """Device clock minus gateway wall clock, whole seconds; None when the clock is unset."""
        device_now = self._device_now
        if device_now is None:
            return None
        return _nearest_second(device_now - wall_clock(self.gateway_time, self.zone))

    def needs_setting(self, tolerance: timedelta) -> bool:
        """True when the clock is unset or off by more than ``tolerance``."""
        skew = self.skew
        return skew is None or abs(skew) > tolerance

    def instant_of(self, stamp: datetime) -> datetime | None:
        """When this clock showed ``stamp`` (UTC, whole seconds), by elapsed device time."""
        device_now = self._device_now
        if device_now is None:
            return None
        estimate = self.gateway_time.astimezone(UTC) - (device_now - stamp)
        # The stamp has one-second resolution: finer digits would be noise.
        return estimate.replace(microsecond=0) + _nearest_second(timedelta(microseconds=estimate.microsecond))


@dataclass(frozen=True, slots=True)
class ClockHistory:
    """The device clock as read at the connection, and as the gateway then set it (if it did).

    A record stamped by the old clock is corrected with ``read``; one stamped after the write
    with ``written``. Which clock stamped a record is known for sure only when the old clock
    could not have shown the stamp yet (it is later than the old clock's "now"): then it is
    the new clock's. Otherwise the record is taken as a stored one, stamped by the old clock.
    That is right for every stored record; it misjudges only a measurement made *during*
    the session on a device whose clock ran fast, which real monitors do not do (they are
    in transfer mode while connected).
    """

    read: ClockReading
    written: ClockReading | None = None

    def for_stamp(self, stamp: datetime | None, now: datetime) -> ClockReading:
        written = self.written
        if written is None or stamp is None or written.device_time is None:
            return self.read
        if self.read.device_time is None:  # the old clock said "unknown"
            return written if stamp >= written.device_time else self.read
        old_clock_now = self.read.device_time + (now - self.read.gateway_time) + timedelta(seconds=1)
        return written if stamp > old_clock_now else self.read


@dataclass(frozen=True, slots=True)
class MeasuredAt:
    measured_at: datetime
    time_source: TimeSource
    clamped_from: datetime | None = None  # the future estimate that was replaced, for the log


def resolve_measured_at(
    device_time: datetime | None,
    gateway_time: datetime,
    clock: ClockReading | ClockHistory | None,
    zone: ZoneInfo,
) -> MeasuredAt:
    """The best UTC estimate of when a record was measured (see the module rules)."""
    _require_utc(gateway_time, "gateway_time")
    if isinstance(clock, ClockHistory):
        clock = clock.for_stamp(device_time, gateway_time)
    received = gateway_time.astimezone(UTC)
    if device_time is None or not is_plausible(device_time):
        return MeasuredAt(received, TimeSource.GATEWAY)
    corrected = clock.instant_of(device_time) if clock is not None else None
    if clock is not None and corrected is not None:
        # Elapsed device time even when the skew is zero: exact across DST changes and folds.
        estimate = corrected
        source = TimeSource.DEVICE if clock.skew == timedelta(0) else TimeSource.DEVICE_CORRECTED
    else:
        estimate = from_wall_clock(device_time, zone)
        source = TimeSource.DEVICE
    if estimate > received:
        return MeasuredAt(received, TimeSource.GATEWAY, clamped_from=estimate)
    return MeasuredAt(estimate, source)
