"""Time in the simulation: the true (simulated) time, and each device's own clock.

``SimClock`` is the true time of the household. At ``speed=1`` and no pinned start it is the
wall clock; at ``speed=3600`` one simulated hour passes per wall second. ``DeviceClock`` is what
a device *believes* the time is: it starts wrong (offset, unset after a battery change), drifts,
and follows whatever a client writes to its Current Time characteristic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

# A device whose clock was reset (battery change) restarts at its epoch: 2000-01-01 00:00.
UNSET_CLOCK_EPOCH = datetime(2000, 1, 1, 0, 0, 0)  # noqa: DTZ001  (device clocks are naive)


class SimClock:
    """The household's true time, optionally compressed by ``speed``."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.speed = speed
        self._mono0 = time.monotonic()
        self.start = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        """The simulated time now (aware, UTC)."""
        elapsed = (time.monotonic() - self._mono0) * self.speed
        return self.start + timedelta(seconds=elapsed)

    def wall_seconds_until(self, moment: datetime) -> float:
        """Wall-clock seconds until the simulated clock reaches ``moment`` (0 if past)."""
        return max(0.0, (moment - self.now()).total_seconds() / self.speed)

    async def sleep_until(self, moment: datetime) -> None:
        """Sleep until the simulated clock reaches ``moment``."""
        delay = self.wall_seconds_until(moment)
        if delay > 0:
            await asyncio.sleep(delay)


class DeviceClock:
    """The naive local clock a device keeps and stamps its measurements with."""

    def __init__(
        self,
        true_now: Callable[[], datetime],
        tz: tzinfo,
        *,
        offset: timedelta = timedelta(0),
        drift_seconds_per_day: float = 0.0,
        unset: bool = False,
        reset_at: datetime | None = None,
    ) -> None:
        """Build a clock.

        ``offset`` is how wrong the clock is when the simulation starts; ``unset`` restarts it
        at 2000-01-01 00:00 at ``reset_at`` (true time, default: now), as a battery change does.
        ``drift_seconds_per_day`` > 0 runs fast, < 0 runs slow, and keeps going after a write.
        """
        self._true_now = true_now
        self._tz = tz
        self._rate = 1.0 + drift_seconds_per_day / 86_400.0
        self.unset = unset
        # A reset clock never shows a time before its epoch, even for a moment before the reset.
        self._floor: datetime | None = UNSET_CLOCK_EPOCH if unset else None
        if unset:
            self._anchor_true = (reset_at or true_now()).astimezone(UTC)
            self._anchor_device = UNSET_CLOCK_EPOCH
        else:
            self._anchor_true = true_now().astimezone(UTC)
            self._anchor_device = self.local(self._anchor_true) + offset

    def local(self, moment: datetime) -> datetime:
        """``moment`` as a correct naive local wall clock would show it."""
        return moment.astimezone(self._tz).replace(tzinfo=None)

    def at(self, moment: datetime) -> datetime:
        """What this clock shows (or showed) at true time ``moment``."""
        elapsed = (moment.astimezone(UTC) - self._anchor_true).total_seconds()
        shown = self._anchor_device + timedelta(seconds=elapsed * self._rate)
        return max(shown, self._floor) if self._floor is not None else shown

    def now(self) -> datetime:
        """What this clock shows now."""
        return self.at(self._true_now())

    def set(self, shown: datetime) -> None:
        """Set the clock (a Current Time write): it shows ``shown`` from now on, then drifts."""
        self._anchor_true = self._true_now().astimezone(UTC)
        self._anchor_device = shown.replace(tzinfo=None, microsecond=0)
        self._floor = None
        self.unset = False

    def error(self) -> timedelta:
        """How far this clock is from the correct local time, right now."""
        now = self._true_now()
        return self.at(now) - self.local(now)
