"""When to try the broker again after a lost connection: capped exponential back-off with
full jitter (sans-I/O).

Attempt ``n`` (0, 1, 2, ...) waits a uniformly random time in ``[0, min(cap, base * 2**n)]``
("full jitter"). The cap keeps a gateway's reconnect within a few seconds of the broker's
return (issue 15: first PUBACK under 5 s); the jitter spreads a fleet that lost the same
broker over that window instead of one second. A connection the broker *refused* (CONNACK
0x80 and above: a revoked gateway, a wrong password) backs off much further, up to
``refused_cap_s``, since retrying soon cannot help. :meth:`connected` starts over.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class ReconnectBackoff:
    base_s: float = 0.5
    cap_s: float = 4.0
    refused_cap_s: float = 300.0
    rng: Callable[[], float] = field(default=random.random, repr=False)
    attempts: int = 0
    refused: bool = False

    def ceiling(self) -> float:
        """The longest the next wait can be."""
        cap = max(self.cap_s, self.refused_cap_s) if self.refused else self.cap_s
        return min(cap, self.base_s * 2.0 ** min(self.attempts, 32))

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call counts one attempt."""
        delay = self.ceiling() * self.rng()
        self.attempts += 1
        return delay

    def connected(self) -> None:
        """CONNACK success: the next outage starts from the base again."""
        self.attempts = 0
        self.refused = False

    def connection_refused(self) -> None:
        """CONNACK failure: keep growing past the normal cap."""
        self.refused = True
