"""Committing one batch, whatever the database is up to (one Committer per writer thread).

- database unavailable or refusing (grants, schema): keep the batch, ack nothing, retry with
  backoff; meanwhile the buffer fills and the MQTT thread stops reading, so memory stays
  bounded;
- deadlock or serialization failure against another worker: retry at once;
- the data itself rejected (a value PostgreSQL cannot store): split the batch in halves until
  the poison message is alone, then dead-letter it with reason ``database_rejected``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog

from ingest.consumer import Backoff
from ingest.envelope import Envelope
from ingest.errors import BatchRejected, DatabaseMisconfigured, IngestError, TransactionConflict
from ingest.metrics import IngestMetrics
from ingest.validation import Rejection, RejectReason
from ingest.writer import BatchWriter, WriteResult, classify_database_error

log = structlog.get_logger("ingest.committer")

_CONFLICT_RETRIES = 5


def connect_database(url: str, application_name: str = "homevitals-ingest") -> psycopg.Connection[Any]:
    """An autocommit connection whose TCP keepalives notice a vanished server within ~30 s."""
    return psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=5,
        application_name=application_name,
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
        tcp_user_timeout=30_000,
    )


class Committer:
    def __init__(
        self,
        *,
        database_url: str,
        metrics: IngestMetrics,
        backoff_max_s: float,
        max_dead_letter_bytes: int,
        give_up: Callable[[], bool],
        name: str = "writer",
    ) -> None:
        self.database_url = database_url
        self.metrics = metrics
        self.max_dead_letter_bytes = max_dead_letter_bytes
        self.give_up = give_up
        self.name = name
        self._backoff = Backoff(backoff_max_s)
        self._writer: BatchWriter | None = None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.conn.close()
            self._writer = None

    def connect(self) -> bool:
        """Connect now if possible (a failure here is retried with the first batch)."""
        try:
            self._ensure_writer()
        except IngestError as error:
            log.warning("ingest.database_unavailable_at_start", writer=self.name, error=str(error))
            self.metrics.db_up.set(0)
            return False
        self.metrics.db_up.set(1)
        return True

    def _ensure_writer(self) -> BatchWriter:
        if self._writer is None or self._writer.conn.closed:
            try:
                conn = connect_database(self.database_url, f"homevitals-ingest-{self.name}")
            except psycopg.Error as error:
                raise classify_database_error(error) from error
            self._writer = BatchWriter(conn, max_dead_letter_bytes=self.max_dead_letter_bytes)
            log.info("ingest.database_connected", writer=self.name)
        return self._writer

    def _attempt(self, batch: Sequence[Envelope]) -> tuple[WriteResult, float] | IngestError:
        try:
            writer = self._ensure_writer()
            started = time.perf_counter()
            result = writer.write(batch)
        except IngestError as error:
            return error
        return result, time.perf_counter() - started

    def commit(self, batch: Sequence[Envelope]) -> bool:
        """Commit ``batch``, retrying as long as it takes (or until the shutdown deadline)."""
        conflicts = 0
        while True:
            outcome = self._attempt(batch)
            if not isinstance(outcome, IngestError):
                result, elapsed = outcome
                self._backoff.reset()
                self.metrics.db_up.set(1)
                self.metrics.record(result, commit_seconds=elapsed, committed_at=datetime.now(UTC))
                log.debug("ingest.committed", messages=result.messages, stored=result.stored, seconds=elapsed)
                if result.quarantined:  # a gateway spoke for a device it does not serve, or was revoked
                    log.warning("ingest.readings_quarantined", reasons=dict(result.quarantined))
                return True
            if isinstance(outcome, BatchRejected):
                self.metrics.db_errors.labels(kind="rejected").inc()
                return self._isolate_poison(batch, outcome)
            if isinstance(outcome, TransactionConflict):
                self.metrics.db_errors.labels(kind="conflict").inc()
                conflicts += 1
                log.info("ingest.transaction_conflict", error=str(outcome), attempt=conflicts)
                if conflicts >= _CONFLICT_RETRIES:
                    time.sleep(self._backoff.next_delay())
                continue
            # Unavailable, misconfigured, or anything else the database said: hold the acks.
            misconfigured = isinstance(outcome, DatabaseMisconfigured)
            self.metrics.db_errors.labels(kind="misconfigured" if misconfigured else "unavailable").inc()
            self.metrics.db_up.set(0)
            self.close()
            if self.give_up():
                log.error("ingest.gave_up_at_shutdown", messages=len(batch), error=str(outcome))
                return False
            delay = self._backoff.next_delay()
            (log.error if misconfigured else log.warning)(
                "ingest.database_error", error=str(outcome), retry_in_s=round(delay, 2), messages=len(batch)
            )
            time.sleep(delay)

    def _isolate_poison(self, batch: Sequence[Envelope], error: BatchRejected) -> bool:
        if len(batch) > 1:
            middle = len(batch) // 2
            return self.commit(batch[:middle]) and self.commit(batch[middle:])
        envelope = batch[0]
        if isinstance(envelope.outcome, Rejection):
            # Even the dead letter was refused: the last place left is the log.
            log.error(
                "ingest.dead_letter_refused",
                topic=envelope.topic,
                payload_hex=envelope.payload[:65536].hex(),
                error=str(error),
            )
            return True
        gateway_id = getattr(envelope.outcome, "gateway_id", None)
        log.warning("ingest.poison_message", topic=envelope.topic, error=str(error))
        # In place: the caller acks the envelopes it handed in, and the hub ack must say what
        # was stored, dead-lettered here (docs/contract.md "Hub acknowledgements").
        envelope.outcome = Rejection(RejectReason.DATABASE_REJECTED, str(error)[:2000], gateway_id)
        return self.commit([envelope])
