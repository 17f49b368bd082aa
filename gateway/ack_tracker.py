"""Which sent batches await their hub ack, and when to send each again (sans-I/O).

A batch is sent, the broker PUBACKs it, and then the hub owes its commit acknowledgement
(docs/contract.md "Hub acknowledgements"). Until that arrives the batch stays in the outbox.
If it does not arrive within the timeout, the batch is sent again, with the same
``batch_seq`` and body: the hub's ledger absorbs the repeat. Each further attempt waits twice
as long, up to ``timeout_max_s``, less a random part (``jitter``) so that a thousand gateways
that lost the same hub do not re-send in the same second.

Time comes in as plain monotonic seconds; nothing here does I/O.
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
    jitter: float = 0.2  # each wait is shortened by up to this fraction, at random


@dataclass(slots=True)
class _Waiting:
    attempts: int
    deadline: float


class AckTracker:
    def __init__(self, policy: HubAckPolicy, *, rng: Callable[[], float] = random.random) -> None:
        self.policy = policy
        self._rng = rng
        self._waiting: dict[int, _Waiting] = {}

    def timeout_for(self, attempts: int) -> float:
        """How long attempt number ``attempts`` (1, 2, ...) waits for its ack."""
        base = min(self.policy.timeout_max_s, self.policy.timeout_s * 2.0 ** max(0, attempts - 1))
        return base * (1 - self.policy.jitter * self._rng())

    def sent(self, batch_seq: int, now: float) -> float:
        """The broker has the batch (PUBACK): wait for the hub. Returns the deadline."""
        waiting = self._waiting.get(batch_seq)
        attempts = 1 if waiting is None else waiting.attempts + 1
        deadline = now + self.timeout_for(attempts)
        self._waiting[batch_seq] = _Waiting(attempts, deadline)
        return deadline

    def acknowledged(self, batch_seq: int) -> int | None:
        """The hub acked the batch: forget it. Returns how many sends it took (None: unknown)."""
        waiting = self._waiting.pop(batch_seq, None)
        return None if waiting is None else waiting.attempts

    def holds_back(self, batch_seq: int, now: float) -> bool:
        """True while the batch waits for its ack and its time is not up: do not send it."""
        waiting = self._waiting.get(batch_seq)
        return waiting is not None and waiting.deadline > now

    def expire_all(self, now: float) -> None:
        """The broker lost this gateway's session, and with it whatever it queued: send again now."""
        for waiting in self._waiting.values():
            waiting.deadline = min(waiting.deadline, now)

    def attempts(self, batch_seq: int) -> int:
        waiting = self._waiting.get(batch_seq)
        return 0 if waiting is None else waiting.attempts

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def next_deadline(self) -> float | None:
        return min((w.deadline for w in self._waiting.values()), default=None)

    def forget_unknown(self, open_batches: set[int]) -> None:
        """Drop batches the outbox no longer has (acked by an ack that raced a re-send)."""
        for batch_seq in [seq for seq in self._waiting if seq not in open_batches]:
            del self._waiting[batch_seq]
