"""Which sent batches await their hub ack, when to send each again, and how many may be out
at once (sans-I/O).

A batch is sent, the broker PUBACKs it, and then the hub owes its commit acknowledgement
(docs/contract.md "Hub acknowledgements"). Until that arrives the batch stays in the outbox.
If it does not arrive within the timeout, the batch is sent again, with the same
``batch_seq`` and body: the hub's ledger absorbs the repeat. Each further attempt waits twice
as long, up to ``timeout_max_s``, less a random part (``jitter``) so that a thousand gateways
that lost the same hub do not re-send in the same second.

**The timeout** adapts to how long acks take, as TCP's retransmission timer does (RFC 6298):
a smoothed ack delay and its variation give ``srtt + 4 * rttvar``, never less than
``timeout_s`` nor more than ``timeout_max_s``; a timeout doubles it, and it stays doubled
for the batches that follow until a valid sample comes back. A hub draining a fleet's backlog
acks after tens of seconds, not milliseconds; with a fixed 10 s every batch in its queue
would be sent twice.

**The window** (how many batches may await the hub's ack) adapts, because a fixed one
collapses under a fleet-wide backlog: a thousand gateways reconnecting with 32 batches each
put more in the broker's queue than the hub commits within the timeout, every batch times
out and is sent again, and the queue doubles (docs/benchmarks.md "A 1 M-reading backlog").
So, in the spirit of TCP's congestion control (RFC 5681) but steered by the ack's delay:

- a connection starts with ``initial_window`` batches;
- an ack that comes back within ``fast_ack_fraction`` of the timeout grows the window by one
  (up to ``window``): the hub keeps up, so more may travel at once;
- a slower ack shrinks it by one: the batches wait in the broker's queue, and more of them
  would only wait longer and time out;
- a timeout halves it (at least 1).

Only acks of batches sent once count (Karn's rule: an ack of a re-sent batch can't say which
send it answers). Time comes in as plain monotonic seconds; nothing here does I/O.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HubAckPolicy:
    enabled: bool = True  # False: a hub without acks; a batch leaves the outbox on PUBACK
    timeout_s: float = 10.0
    timeout_max_s: float = 300.0
    window: int = 32  # batches sent and not yet acknowledged by the hub, at most
    initial_window: int = 1  # ... at first, after each connect; it adapts from there
    fast_ack_fraction: float = 0.25  # an ack within this part of timeout_s grows the window
    jitter: float = 0.2  # each wait is shortened by up to this fraction, at random


@dataclass(slots=True)
class _Waiting:
    attempts: int
    deadline: float
    sent_at: float
    session_lost: bool = False  # released by expire_all: sent again, but not a timeout


class AckTracker:
    def __init__(self, policy: HubAckPolicy, *, rng: Callable[[], float] = random.random) -> None:
        self.policy = policy
        self._rng = rng
        self._waiting: dict[int, _Waiting] = {}
        self._window = self._start_window()
        self._srtt: float | None = None
        self._rttvar = 0.0
        self._timeout = policy.timeout_s

    def _start_window(self) -> int:
        return max(1, min(self.policy.initial_window, self.policy.window))

    def timeout_for(self, attempts: int) -> float:
        """How long attempt number ``attempts`` (1, 2, ...) waits for its ack."""
        base = min(self.policy.timeout_max_s, self._timeout * 2.0 ** max(0, attempts - 1))
        return base * (1 - self.policy.jitter * self._rng())

    @property
    def timeout(self) -> float:
        """The current timeout of a first send, before jitter."""
        return self._timeout

    def _sample(self, delay: float) -> None:
        # RFC 6298 section 2, with its gains (1/8, 1/4) and K = 4.
        if self._srtt is None:
            self._srtt, self._rttvar = delay, delay / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - delay)
            self._srtt = 0.875 * self._srtt + 0.125 * delay
        estimate = self._srtt + 4 * self._rttvar
        self._timeout = min(self.policy.timeout_max_s, max(self.policy.timeout_s, estimate))

    # -- the window -------------------------------------------------------------------------

    @property
    def window(self) -> int:
        """How many batches may await the hub's ack now (sent, in flight or re-sent included)."""
        return self._window

    def restart_window(self) -> None:
        """A new connection: start small again (the hub may be busy with everyone's backlog)."""
        self._window = self._start_window()

    def timed_out(self, batch_seq: int) -> None:
        """The batch's ack is overdue and it is about to be sent again: halve the window, and
        double the timeout (RFC 6298 5.5) until an ack gives a new estimate."""
        waiting = self._waiting.get(batch_seq)
        if waiting is not None and not waiting.session_lost:
            self._window = max(1, self._window // 2)
            self._timeout = min(self.policy.timeout_max_s, self._timeout * 2)

    def held_back(self, now: float) -> int:
        """Batches waiting for their ack whose time is not up: they still count as out."""
        return sum(1 for waiting in self._waiting.values() if waiting.deadline > now)

    # -- single batches -----------------------------------------------------------------------

    def sent(self, batch_seq: int, now: float) -> float:
        """The broker has the batch (PUBACK): wait for the hub. Returns the deadline."""
        waiting = self._waiting.get(batch_seq)
        attempts = 1 if waiting is None else waiting.attempts + 1
        deadline = now + self.timeout_for(attempts)
        self._waiting[batch_seq] = _Waiting(attempts, deadline, now)
        return deadline

    def acknowledged(self, batch_seq: int, now: float) -> int | None:
        """The hub acked the batch: forget it, and let its delay steer the window.
        Returns how many sends it took (None: unknown)."""
        waiting = self._waiting.pop(batch_seq, None)
        if waiting is None:
            return None
        if waiting.attempts == 1:
            delay = now - waiting.sent_at
            self._sample(delay)
            if delay <= self.policy.timeout_s * self.policy.fast_ack_fraction:
                self._window = min(self.policy.window, self._window + 1)
            else:
                self._window = max(1, self._window - 1)
        return waiting.attempts

    def holds_back(self, batch_seq: int, now: float) -> bool:
        """True while the batch waits for its ack and its time is not up: do not send it."""
        waiting = self._waiting.get(batch_seq)
        return waiting is not None and waiting.deadline > now

    def expire_all(self, now: float) -> None:
        """The broker lost this gateway's session, and with it whatever it queued: send again now."""
        for waiting in self._waiting.values():
            waiting.deadline = min(waiting.deadline, now)
            waiting.session_lost = True  # no sign of a slow hub: leave window and timeout alone

    def attempts(self, batch_seq: int) -> int:
        waiting = self._waiting.get(batch_seq)
        return 0 if waiting is None else waiting.attempts

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def next_deadline(self, after: float | None = None) -> float | None:
        """The earliest deadline (only those later than ``after``, if given)."""
        return min(
            (w.deadline for w in self._waiting.values() if after is None or w.deadline > after), default=None
        )

    def forget_unknown(self, open_batches: set[int]) -> None:
        """Drop batches the outbox no longer has (acked by an ack that raced a re-send)."""
        for batch_seq in [seq for seq in self._waiting if seq not in open_batches]:
            del self._waiting[batch_seq]
