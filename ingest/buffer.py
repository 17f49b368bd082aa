"""The bounded hand-over between the MQTT thread and the writer thread.

A message is *outstanding* from the moment it is read off the socket until its batch has
committed and been acknowledged (or given up at shutdown). When too many messages or bytes
are outstanding, :meth:`has_room` turns false and the MQTT thread stops reading from the
socket, so a database outage costs bounded memory: the broker keeps the rest queued.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence

from ingest.envelope import Envelope


def _weight(envelope: Envelope) -> int:
    # Status reports and rejections count as one, so a flood of them also forms batches.
    return envelope.reading_count or 1


class InflightBuffer:
    def __init__(
        self, *, max_messages: int, max_bytes: int, batch_readings: int, batch_wait_s: float
    ) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.batch_readings = batch_readings
        self.batch_wait_s = batch_wait_s
        self._pending: deque[Envelope] = deque()
        self._pending_weight = 0
        self._outstanding_messages = 0
        self._outstanding_bytes = 0
        self._flush_all = False
        self._cond = threading.Condition()

    # -- MQTT thread -----------------------------------------------------------------------
    def put(self, envelope: Envelope) -> None:
        with self._cond:
            was_empty = not self._pending
            before = self._pending_weight
            self._pending.append(envelope)
            self._pending_weight += _weight(envelope)
            self._outstanding_messages += 1
            self._outstanding_bytes += len(envelope.payload)
            # Wake the writer only when it has something new to decide on: the first item
            # (starts the batch timer) or a full batch. Waking it per message costs a context
            # switch per message.
            if was_empty or (before < self.batch_readings <= self._pending_weight):
                self._cond.notify()

    def has_room(self) -> bool:
        return self._outstanding_messages < self.max_messages and self._outstanding_bytes < self.max_bytes

    @property
    def outstanding(self) -> int:
        return self._outstanding_messages

    # -- writer thread ---------------------------------------------------------------------
    def take(self, stop: threading.Event, poll_s: float = 0.5) -> list[Envelope]:
        """Block until a batch is due; return it (empty when ``stop`` is set and nothing is left).

        A batch is due when ``batch_readings`` readings wait, or the oldest has waited
        ``batch_wait_s``, or a flush was requested. It holds up to ``batch_readings`` readings
        (at least one message, however large).
        """
        with self._cond:
            while True:
                if self._pending:
                    if self._flush_all or self._pending_weight >= self.batch_readings:
                        return self._pop_batch()
                    age = time.monotonic() - self._pending[0].received_monotonic
                    if age >= self.batch_wait_s:
                        return self._pop_batch()
                    self._cond.wait(self.batch_wait_s - age)
                    continue
                if stop.is_set():
                    return []
                self._cond.wait(poll_s)

    def _pop_batch(self) -> list[Envelope]:
        batch: list[Envelope] = []
        weight = 0
        while self._pending and (not batch or weight + _weight(self._pending[0]) <= self.batch_readings):
            envelope = self._pending.popleft()
            weight += _weight(envelope)
            batch.append(envelope)
        self._pending_weight -= weight
        return batch

    def release(self, batch: Sequence[Envelope]) -> None:
        """The batch is done with (committed and acked, or abandoned): free its room."""
        with self._cond:
            self._outstanding_messages -= len(batch)
            self._outstanding_bytes -= sum(len(e.payload) for e in batch)

    def flush_all(self) -> None:
        """From now on hand out whatever is pending without waiting (shutdown drain)."""
        with self._cond:
            self._flush_all = True
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
