"""Time rules: skew, measured_at correction, unset clocks, never in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.clock import ClockReading, resolve_measured_at, wall_clock
from homevitals.contract import TimeSource

pytestmark = pytest.mark.unit

CPH = ZoneInfo("Europe/Copenhagen")
# 2026-11-29 10:00:00 UTC = 11:00 in Copenhagen (CET, UTC+1)
NOW = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)


def naive(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_correct_clock_is_trusted_as_local_wall_time():
    clock = ClockReading(naive("2026-11-29T11:00:00"), NOW, CPH, fraction_s=0)
    assert clock.skew == timedelta(0)
    result = resolve_measured_at(naive("2026-11-29T10:30:00"), NOW, clock, CPH)
    assert result.time_source is TimeSource.DEVICE
    assert result.measured_at == datetime(2026, 11, 29, 9, 30, tzinfo=UTC)


def test_clock_three_hours_fast_is_corrected():
    clock = ClockReading(naive("2026-11-29T14:00:00"), NOW, CPH, fraction_s=0)
    assert clock.skew == timedelta(hours=3)
    assert clock.needs_setting(timedelta(seconds=60))
    # measured 30 minutes ago by the fast clock: it shows 13:30
    result = resolve_measured_at(naive("2026-11-29T13:30:00"), NOW, clock, CPH)
    assert result.time_source is TimeSource.DEVICE_CORRECTED
    assert result.measured_at == NOW - timedelta(minutes=30)


def test_slow_clock_is_corrected_too():
    clock = ClockReading(naive("2026-11-29T10:55:13"), NOW, CPH, fraction_s=0)
    assert clock.skew == timedelta(minutes=-4, seconds=-47)
    result = resolve_measured_at(naive("2026-11-29T10:00:13"), NOW, clock, CPH)
    assert result.time_source is TimeSource.DEVICE_CORRECTED
    assert result.measured_at == NOW - timedelta(minutes=55)


def test_sub_second_skew_rounds_to_zero_and_is_trusted():
    clock = ClockReading(naive("2026-11-29T11:00:00"), NOW + timedelta(milliseconds=400), CPH, fraction_s=0)
    assert clock.skew == timedelta(0)
    assert not clock.needs_setting(timedelta(seconds=60))


def test_a_clock_shown_in_whole_seconds_is_taken_as_half_a_second_on():
    # Read 0.7 s after the gateway's second 11:00:00 began; the device shows 11:00:00.
    clock = ClockReading(naive("2026-11-29T11:00:00"), NOW + timedelta(milliseconds=700), CPH)
    assert clock.skew == timedelta(0)
    result = resolve_measured_at(naive("2026-11-29T10:59:00"), NOW + timedelta(seconds=1), clock, CPH)
    assert result.time_source is TimeSource.DEVICE
    assert result.measured_at == NOW - timedelta(minutes=1)


def test_skew_within_tolerance_does_not_need_setting_but_still_corrects():
    clock = ClockReading(naive("2026-11-29T11:00:30"), NOW, CPH, fraction_s=0)
    assert not clock.needs_setting(timedelta(seconds=60))
    result = resolve_measured_at(naive("2026-11-29T10:50:30"), NOW, clock, CPH)
    assert result.time_source is TimeSource.DEVICE_CORRECTED
    assert result.measured_at == NOW - timedelta(minutes=10)


def test_unset_clock_record_uses_gateway_time():
    clock = ClockReading(naive("2000-01-01T00:10:00"), NOW, CPH, fraction_s=0)
    assert not clock.is_set
    assert clock.skew is None
    assert clock.needs_setting(timedelta(hours=24))
    received = NOW + timedelta(seconds=2)
    result = resolve_measured_at(naive("2000-01-01T00:05:00"), received, clock, CPH)
    assert result == resolve_measured_at(naive("2000-01-01T00:05:00"), received, None, CPH)
    assert result.time_source is TimeSource.GATEWAY
    assert result.measured_at == received


def test_record_without_timestamp_uses_gateway_time():
    result = resolve_measured_at(None, NOW, None, CPH)
    assert (result.measured_at, result.time_source) == (NOW, TimeSource.GATEWAY)


def test_unknown_device_clock_is_not_a_reason_to_distrust_a_good_stamp():
    # A device without Current Time (or with its clock unset) whose record has a plausible stamp.
    clock = ClockReading(None, NOW, CPH)
    result = resolve_measured_at(naive("2026-11-29T10:45:00"), NOW, clock, CPH)
    assert result.time_source is TimeSource.DEVICE
    assert result.measured_at == datetime(2026, 11, 29, 9, 45, tzinfo=UTC)


def test_measured_at_is_never_in_the_future():
    # No clock read: the device stamp says 10 minutes from now.
    result = resolve_measured_at(naive("2026-11-29T11:10:00"), NOW, None, CPH)
    assert result.measured_at == NOW
    assert result.time_source is TimeSource.GATEWAY
    assert result.clamped_from == NOW + timedelta(minutes=10)


def test_correction_uses_elapsed_device_time_across_a_dst_change():
    # The device was set in summer (CEST) and never followed the switch to winter time:
    # in November it shows summer time, one hour ahead of the wall clock.
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # 13:00 CET
    clock = ClockReading(naive("2026-11-01T14:00:00"), now, CPH, fraction_s=0)
    assert clock.skew == timedelta(hours=1)
    # A record stamped on 2026-10-24 at 09:00 device time (CEST then, device was right): 07:00 UTC.
    result = resolve_measured_at(naive("2026-10-24T09:00:00"), now, clock, CPH)
    assert result.measured_at == datetime(2026, 10, 24, 7, 0, tzinfo=UTC)


def test_wall_clock_follows_the_zone():
    assert wall_clock(NOW, CPH) == naive("2026-11-29T11:00:00")
    assert wall_clock(datetime(2026, 7, 1, 10, 0, tzinfo=UTC), CPH) == naive("2026-07-01T12:00:00")


def test_clock_reading_refuses_mixed_up_zones():
    with pytest.raises(ValueError, match="naive"):
        ClockReading(NOW, NOW, CPH)
    with pytest.raises(ValueError, match="aware"):
        ClockReading(naive("2026-11-29T11:00:00"), naive("2026-11-29T10:00:00"), CPH)


@given(
    skew_s=st.integers(min_value=-10 * 86400, max_value=10 * 86400),
    age_s=st.integers(min_value=-3 * 86400, max_value=60 * 86400),
    delay_s=st.floats(min_value=0, max_value=600),
)
def test_never_in_the_future_and_correct_when_plausible(skew_s: int, age_s: int, delay_s: float):
    clock = ClockReading(wall_clock(NOW, CPH) + timedelta(seconds=skew_s), NOW, CPH, fraction_s=0)
    stamp = wall_clock(NOW, CPH) + timedelta(seconds=skew_s - age_s)
    received = NOW + timedelta(seconds=delay_s)
    result = resolve_measured_at(stamp, received, clock, CPH)
    assert result.measured_at <= received
    if stamp.year >= 2020 and age_s >= 0:
        assert result.measured_at == NOW - timedelta(seconds=age_s)


def test_records_after_a_clock_write_are_told_apart_when_the_old_clock_could_not_have_made_them():
    from gateway.clock import ClockHistory

    # Read: the clock was reset (2000-01-01); the gateway wrote the right time at once.
    read = ClockReading(naive("2000-01-01T00:10:00"), NOW, CPH, fraction_s=0)
    written = ClockReading(naive("2026-11-29T11:00:00"), NOW, CPH, fraction_s=0)
    history = ClockHistory(read, written)
    later = NOW + timedelta(minutes=3)
    # A stored record from before the write (year 2000): gateway time, as ever.
    assert resolve_measured_at(naive("2000-01-01T00:05:00"), later, history, CPH).time_source is TimeSource.GATEWAY
    # A measurement made after the write is stamped by the new clock: trusted.
    fresh = resolve_measured_at(naive("2026-11-29T11:02:00"), later, history, CPH)
    assert fresh.time_source is TimeSource.DEVICE
    assert fresh.measured_at == NOW + timedelta(minutes=2)

    # A slow clock (10 min behind) set during the session: new stamps are beyond the old clock's now.
    read = ClockReading(naive("2026-11-29T10:50:00"), NOW, CPH, fraction_s=0)
    history = ClockHistory(read, ClockReading(naive("2026-11-29T11:00:00"), NOW, CPH, fraction_s=0))
    stored = resolve_measured_at(naive("2026-11-29T10:40:00"), later, history, CPH)
    assert stored.measured_at == NOW - timedelta(minutes=10)
    assert stored.time_source is TimeSource.DEVICE_CORRECTED
    live = resolve_measured_at(naive("2026-11-29T11:02:30"), later, history, CPH)
    assert live.measured_at == NOW + timedelta(minutes=2, seconds=30)
