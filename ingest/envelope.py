"""One received MQTT message on its way to the database and back to the broker as an ack."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.validation import Outcome, ValidBatch


@dataclass(slots=True)
class Envelope:
    topic: str
    payload: bytes
    outcome: Outcome
    mid: int = 0
    # Which broker connection delivered it: a packet id means nothing on another connection,
    # so an envelope is acknowledged only on the connection it came from (docs/ingest.md).
    generation: int = 0
    received_monotonic: float = 0.0
    reading_count: int = field(init=False)

    def __post_init__(self) -> None:
        self.reading_count = len(self.outcome.readings) if isinstance(self.outcome, ValidBatch) else 0
