"""One ingest worker: MQTT thread -> bounded buffer -> writer thread -> ack.

The writer thread commits batches with retries:
- database unavailable or refusing (grants, schema): keep the batch, ack nothing, retry with
  backoff; the buffer fills and the MQTT thread stops reading, so memory stays bounded;
- deadlock or serialization failure against another worker: retry at once;
- the data itself rejected (a value PostgreSQL cannot store): split the batch in halves until
  the poison message is alone, then dead-letter it with reason ``database_rejected``.

SIGTERM: stop reading, commit and ack everything already read, disconnect, exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import structlog

from ingest.alerts import raise_missing_measurement_alerts
from ingest.buffer import InflightBuffer
from ingest.consumer import Backoff, BrokerConfig, MqttConsumer, forget_session
from ingest.envelope import Envelope
from ingest.errors import BatchRejected, DatabaseMisconfigured, IngestError, TransactionConflict
from ingest.metrics import IngestMetrics
from ingest.settings import IngestSettings
from ingest.validation import Rejection, RejectReason
from ingest.writer import BatchWriter, WriteResult, classify_database_error

log = structlog.get_logger("ingest.service")

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


class IngestService:
    def __init__(self, settings: IngestSettings, *, retire: bool = False) -> None:
        self.settings = settings
        self.metrics = IngestMetrics()
        self.buffer = InflightBuffer(
            max_messages=settings.max_buffered_messages,
            max_bytes=settings.max_buffered_bytes,
            batch_readings=settings.batch_max_readings,
            batch_wait_s=settings.batch_max_wait_ms / 1000,
        )
        self.broker = BrokerConfig(
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            client_id=settings.mqtt_client_id,
            share_group=settings.mqtt_share_group,
            protocol=settings.mqtt_protocol,
            session_expiry_s=settings.mqtt_session_expiry_s,
            keepalive_s=settings.mqtt_keepalive_s,
            username=settings.mqtt_username,
            password=settings.mqtt_password,
            tls=settings.mqtt_tls,
            ca_file=settings.mqtt_ca_file,
            cert_file=settings.mqtt_cert_file,
            key_file=settings.mqtt_key_file,
            backoff_max_s=settings.mqtt_backoff_max_s,
        )
        self.consumer = MqttConsumer(
            self.broker,
            buffer=self.buffer,
            metrics=self.metrics,
            future_tolerance=timedelta(seconds=settings.future_tolerance_s),
            max_payload_bytes=settings.max_payload_bytes,
            retire=retire,
        )
        self.retire = retire
        self.stopping = threading.Event()
        self.metrics_port: int | None = None
        self.failure: BaseException | None = None
        self._writer: BatchWriter | None = None
        self._db_backoff = Backoff(settings.db_backoff_max_s)
        self._give_up_at: float | None = None
        self._writer_thread = threading.Thread(target=self._writer_main, name="ingest-writer", daemon=True)
        self._next_missing_check = time.monotonic()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self.settings.metrics_port:
            self.metrics_port = self.metrics.serve(self.settings.metrics_host, self.settings.metrics_port)
        self.metrics.db_up.set(0)
        self._writer_thread.start()
        self.consumer.start()
        log.info(
            "ingest.started",
            client_id=self.settings.mqtt_client_id,
            broker=f"{self.settings.mqtt_host}:{self.settings.mqtt_port}",
            protocol=self.settings.mqtt_protocol,
            retire=self.retire,
            metrics_port=self.metrics_port,
            batch_max_readings=self.settings.batch_max_readings,
            batch_max_wait_ms=self.settings.batch_max_wait_ms,
        )

    def run_forever(self) -> int:
        """Run until :meth:`request_stop` (the CLI wires SIGTERM/SIGINT to it). Returns an exit code."""
        while not self.stopping.wait(timeout=1.0):
            if not (self._writer_thread.is_alive() and self.consumer.alive):
                self.failure = self.failure or self.consumer.failure or RuntimeError("a worker thread died")
                log.error("ingest.thread_died", error=str(self.failure))
                break
            self._maybe_check_missing()
        return self.shutdown()

    def request_stop(self) -> None:
        self.stopping.set()

    def run_until_idle(self, idle_s: float) -> int:
        """Retire: take what the broker queued for this session until ``idle_s`` pass without a
        message, store it, then make the broker forget the session. Returns an exit code."""
        if not self.consumer.wait_subscribed(timeout=60):
            log.error("ingest.retire_not_connected", client_id=self.broker.client_id)
            return self.shutdown() or 1
        while not self.stopping.wait(timeout=0.2):
            idle = time.monotonic() - self.consumer.last_message_monotonic
            if idle >= idle_s and self.buffer.outstanding == 0:
                break
        code = self.shutdown()
        if code == 0 and self.buffer.outstanding == 0:
            forget_session(self.broker)
            log.info("ingest.retired", client_id=self.broker.client_id)
        return code

    def shutdown(self) -> int:
        """Drain: stop reading, commit and ack what was read, disconnect. Returns the exit code."""
        self.stopping.set()
        log.info("ingest.draining", outstanding=self.buffer.outstanding)
        self._give_up_at = time.monotonic() + self.settings.shutdown_timeout_s
        self.consumer.stop_reading()
        self.buffer.flush_all()
        self._writer_thread.join(timeout=self.settings.shutdown_timeout_s + 5)
        self.consumer.close()
        if self._writer is not None:
            self._writer.conn.close()
        left = self.buffer.outstanding
        log.info("ingest.stopped", unacknowledged=left)
        return 1 if self.failure is not None else 0

    # -- periodic job -----------------------------------------------------------------------
    def _maybe_check_missing(self) -> None:
        interval = self.settings.missing_check_interval_s
        if interval <= 0 or time.monotonic() < self._next_missing_check:
            return
        self._next_missing_check = time.monotonic() + interval
        try:
            with connect_database(self.settings.database_url, "homevitals-ingest-jobs") as conn:
                opened = raise_missing_measurement_alerts(conn, self.settings.missing_measurement_days)
        except psycopg.Error as error:
            log.warning("ingest.missing_check_failed", error=str(classify_database_error(error)))
            return
        if opened:
            self.metrics.alerts_opened.labels(type="missing_measurements", level="warning").inc(len(opened))
            log.info("ingest.missing_measurements", citizens=opened)

    # -- the writer thread ------------------------------------------------------------------
    def _writer_main(self) -> None:
        try:
            while True:
                batch = self.buffer.take(self.stopping)
                if not batch:
                    return
                committed = self._commit(batch)
                if committed:
                    self.consumer.ack(batch)
                self.buffer.release(batch)
                if not committed:
                    return  # shutdown deadline passed with the database down: leave the rest unacked
        except BaseException as error:
            self.failure = error
            log.exception("ingest.writer_failed")
            self.stopping.set()
            raise

    def _deadline_passed(self) -> bool:
        return self._give_up_at is not None and time.monotonic() > self._give_up_at

    def _ensure_writer(self) -> BatchWriter:
        if self._writer is None or self._writer.conn.closed:
            try:
                conn = connect_database(self.settings.database_url)
            except psycopg.Error as error:
                raise classify_database_error(error) from error
            self._writer = BatchWriter(conn, max_dead_letter_bytes=self.settings.max_payload_bytes)
            log.info("ingest.database_connected")
        return self._writer

    def _drop_connection(self) -> None:
        if self._writer is not None:
            self._writer.conn.close()
            self._writer = None

    def _attempt(self, batch: Sequence[Envelope]) -> tuple[WriteResult, float] | IngestError:
        try:
            writer = self._ensure_writer()
            started = time.perf_counter()
            result = writer.write(batch)
        except IngestError as error:
            return error
        return result, time.perf_counter() - started

    def _commit(self, batch: Sequence[Envelope]) -> bool:
        """Commit ``batch``, retrying as long as it takes (or until the shutdown deadline)."""
        conflicts = 0
        while True:
            outcome = self._attempt(batch)
            if not isinstance(outcome, IngestError):
                result, elapsed = outcome
                self._db_backoff.reset()
                self.metrics.db_up.set(1)
                self.metrics.record(result, commit_seconds=elapsed, committed_at=datetime.now(UTC))
                log.debug("ingest.committed", messages=result.messages, stored=result.stored, seconds=elapsed)
                return True
            if isinstance(outcome, BatchRejected):
                self.metrics.db_errors.labels(kind="rejected").inc()
                return self._isolate_poison(batch, outcome)
            if isinstance(outcome, TransactionConflict):
                self.metrics.db_errors.labels(kind="conflict").inc()
                conflicts += 1
                log.info("ingest.transaction_conflict", error=str(outcome), attempt=conflicts)
                if conflicts >= _CONFLICT_RETRIES:
                    time.sleep(self._db_backoff.next_delay())
                continue
            # Unavailable, misconfigured, or anything else the database said: hold the acks.
            misconfigured = isinstance(outcome, DatabaseMisconfigured)
            self.metrics.db_errors.labels(kind="misconfigured" if misconfigured else "unavailable").inc()
            self.metrics.db_up.set(0)
            self._drop_connection()
            if self._deadline_passed():
                log.error("ingest.gave_up_at_shutdown", messages=len(batch), error=str(outcome))
                return False
            delay = self._db_backoff.next_delay()
            (log.error if misconfigured else log.warning)(
                "ingest.database_error", error=str(outcome), retry_in_s=round(delay, 2), messages=len(batch)
            )
            time.sleep(delay)

    def _isolate_poison(self, batch: Sequence[Envelope], error: BatchRejected) -> bool:
        if len(batch) > 1:
            middle = len(batch) // 2
            return self._commit(batch[:middle]) and self._commit(batch[middle:])
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
        dead = Envelope(
            topic=envelope.topic,
            payload=envelope.payload,
            outcome=Rejection(RejectReason.DATABASE_REJECTED, str(error)[:2000], gateway_id),
            mid=envelope.mid,
            generation=envelope.generation,
            received_monotonic=envelope.received_monotonic,
        )
        return self._commit([dead])
