"""The sans-I/O ack tracker: when a batch still waiting for its hub ack is sent again."""

from __future__ import annotations

import pytest

from gateway.ack_tracker import AckTracker, HubAckPolicy

pytestmark = pytest.mark.unit


def tracker(rng: float = 0.0, **policy: float) -> AckTracker:
    return AckTracker(HubAckPolicy(timeout_s=10, timeout_max_s=60, **policy), rng=lambda: rng)  # type: ignore[arg-type]


def test_each_attempt_waits_twice_as_long_up_to_the_maximum():
    t = tracker()
    deadlines = [t.sent(7, now=0.0) for _ in range(5)]
    assert deadlines == [10.0, 20.0, 40.0, 60.0, 60.0]
    assert t.attempts(7) == 5


def test_jitter_shortens_a_wait_by_at_most_its_fraction():
    assert tracker(rng=1.0, jitter=0.2).timeout_for(1) == pytest.approx(8.0)
    assert tracker(rng=0.5, jitter=0.2).timeout_for(2) == pytest.approx(18.0)


def test_a_batch_is_held_back_until_its_deadline_then_released():
    t = tracker()
    t.sent(1, now=100.0)
    assert t.holds_back(1, now=109.9)
    assert not t.holds_back(1, now=110.0)
    assert not t.holds_back(2, now=100.0)  # never sent: nothing to wait for


def test_the_ack_ends_the_wait_and_reports_the_sends():
    t = tracker()
    t.sent(3, now=0.0)
    t.sent(3, now=10.0)
    assert t.acknowledged(3, now=11.0) == 2
    assert t.acknowledged(3, now=12.0) is None  # a second ack for the same batch
    assert t.waiting == 0 and t.next_deadline() is None


def test_a_lost_session_releases_every_waiting_batch_now():
    t = tracker()
    t.sent(1, now=0.0)
    t.sent(2, now=5.0)
    assert t.next_deadline() == 10.0
    t.expire_all(now=6.0)
    assert not t.holds_back(1, now=6.0) and not t.holds_back(2, now=6.0)
    assert t.next_deadline() == 6.0


def test_batches_gone_from_the_outbox_are_forgotten():
    t = tracker()
    for seq in (1, 2, 3):
        t.sent(seq, now=0.0)
    t.forget_unknown({2})
    assert t.waiting == 1 and t.holds_back(2, now=1.0)


def test_the_window_starts_small_and_grows_by_one_per_quick_ack_up_to_its_maximum():
    t = tracker(window=3, initial_window=1)
    assert t.window == 1
    for seq in range(1, 5):
        t.sent(seq, now=0.0)
        t.acknowledged(seq, now=0.5)  # well within a quarter of the 10 s timeout
    assert t.window == 3


def test_a_slow_ack_shrinks_the_window_but_never_below_one():
    t = tracker(window=8, initial_window=4)
    t.sent(1, now=0.0)
    t.acknowledged(1, now=2.6)  # beyond a quarter of the timeout: it waited in a queue
    assert t.window == 3
    for seq in range(2, 8):
        t.sent(seq, now=0.0)
        t.acknowledged(seq, now=9.0)
    assert t.window == 1


def test_an_ack_of_a_re_sent_batch_does_not_steer_the_window():
    t = tracker(window=8, initial_window=4)
    t.sent(1, now=0.0)
    t.sent(1, now=10.0)  # the re-send's PUBACK
    t.acknowledged(1, now=10.1)  # quick, but it may answer the first send: Karn's rule
    assert t.window == 4


def test_a_timeout_halves_the_window_and_a_new_connection_starts_it_again():
    t = tracker(window=32, initial_window=2)
    for seq in range(1, 9):
        t.sent(seq, now=0.0)
        t.acknowledged(seq, now=0.1)
    assert t.window == 10
    t.sent(20, now=1.0)
    t.timed_out(20)
    assert t.window == 5
    t.timed_out(99)  # not a batch it waits for: no signal
    assert t.window == 5
    t.restart_window()
    assert t.window == 2


def test_only_batches_whose_time_is_not_up_count_as_held_back():
    t = tracker()
    t.sent(1, now=0.0)
    t.sent(2, now=5.0)
    assert t.held_back(now=9.0) == 2
    assert t.held_back(now=12.0) == 1  # batch 1 is overdue: it will be sent again
    assert t.held_back(now=15.0) == 0
    assert t.next_deadline() == 10.0
    assert t.next_deadline(after=12.0) == 15.0  # the overdue one waits for room, not for time
    assert t.next_deadline(after=15.0) is None


def test_slow_acks_lengthen_the_timeout_and_quick_ones_bring_it_back_to_its_floor():
    t = tracker()  # floor 10 s, ceiling 60 s
    t.sent(1, now=0.0)
    t.acknowledged(1, now=8.0)  # first sample: 8 + 4 * 4 = 24 s
    assert t.timeout == pytest.approx(24.0)
    assert t.sent(2, now=100.0) == pytest.approx(124.0)
    for seq in range(3, 40):
        t.sent(seq, now=0.0)
        t.acknowledged(seq, now=0.05)
    assert t.timeout == 10.0  # never below the configured timeout


def test_a_timeout_doubles_the_timeout_for_the_batches_that_follow():
    t = tracker()
    t.sent(1, now=0.0)
    t.timed_out(1)
    assert t.timeout == 20.0
    assert t.sent(2, now=0.0) == 20.0  # a new batch waits the doubled time
    t.timed_out(2)
    t.timed_out(2)
    assert t.timeout == 60.0  # capped
    t.sent(1, now=0.0)  # the re-send's PUBACK
    t.acknowledged(1, now=1.0)  # an ack of a re-sent batch is no sample (Karn)
    assert t.timeout == 60.0


def test_re_sends_after_a_lost_session_are_no_timeouts():
    t = tracker(window=8, initial_window=4)
    t.sent(1, now=0.0)
    t.sent(2, now=0.0)
    t.expire_all(now=1.0)
    t.timed_out(1)  # the publisher sends it again at once
    assert t.window == 4 and t.timeout == 10.0
    t.sent(1, now=1.5)  # its PUBACK: a fresh wait, and a later timeout counts again
    t.timed_out(1)
    assert t.window == 2 and t.timeout == 20.0
