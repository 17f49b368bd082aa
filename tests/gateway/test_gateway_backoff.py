"""The reconnect back-off schedule, with a seeded random source (no broker, no clock)."""

from __future__ import annotations

import random

import pytest

from gateway.backoff import ReconnectBackoff

pytestmark = pytest.mark.unit


def seeded(seed: int = 7, **kwargs: float) -> ReconnectBackoff:
    return ReconnectBackoff(rng=random.Random(seed).random, **kwargs)


def test_each_wait_stays_under_the_doubling_ceiling_and_the_cap() -> None:
    backoff = seeded(base_s=0.5, cap_s=4.0)
    ceilings, delays = [], []
    for _ in range(12):
        ceilings.append(backoff.ceiling())
        delays.append(backoff.next_delay())
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))


def test_the_waits_are_jittered_so_a_fleet_spreads_out() -> None:
    """1,000 gateways that lost the same broker, each with its own random source."""
    third_waits = []
    for seed in range(1000):
        backoff = seeded(seed)
        for _ in range(3):
            delay = backoff.next_delay()
        third_waits.append(delay)
    per_half_second = [sum(1 for d in third_waits if n * 0.5 <= d < (n + 1) * 0.5) for n in range(4)]
    assert max(third_waits) <= 2.0
    # Full jitter: spread over the whole [0, 2 s] window, no bucket holding most of the fleet.
    assert min(per_half_second) > 150 and max(per_half_second) < 350, per_half_second
    assert len({round(d, 6) for d in third_waits}) > 990


def test_a_successful_connect_starts_the_schedule_over() -> None:
    backoff = seeded()
    for _ in range(6):
        backoff.next_delay()
    assert backoff.ceiling() == 4.0
    backoff.connected()
    assert backoff.ceiling() == 0.5
    assert backoff.next_delay() <= 0.5


def test_a_refused_connection_backs_off_past_the_cap_until_one_succeeds() -> None:
    backoff = seeded(base_s=0.5, cap_s=4.0, refused_cap_s=300.0)
    backoff.connection_refused()
    ceilings = []
    for _ in range(12):
        ceilings.append(backoff.ceiling())
        backoff.next_delay()
    assert ceilings[-1] == 300.0 and ceilings[5] == 16.0
    backoff.connected()
    assert backoff.ceiling() == 0.5


def test_the_same_seed_gives_the_same_schedule() -> None:
    first, second = seeded(3), seeded(3)
    assert [first.next_delay() for _ in range(8)] == [second.next_delay() for _ in range(8)]
