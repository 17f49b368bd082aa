"""One ingest worker: MQTT thread -> bounded buffer -> writer threads -> ack.

Writer threads (``INGEST_WRITERS``, each with its own connection) take batches from the
buffer and commit them through a :class:`~ingest.committer.Committer`, which retries as long
as it takes; a batch is acknowledged only after it committed.

SIGTERM: stop reading, commit and ack everything already read, disconnect, exit.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import psycopg
import structlog

from homevitals.errors import MqttConnectError
from ingest.alerts import periodic_rules, run_periodic
from ingest.buffer import InflightBuffer
from ingest.committer import Committer, connect_database
from ingest.consumer import BrokerConfig, MqttConsumer, forget_session
from ingest.metrics import IngestMetrics
from ingest.settings import IngestSettings
from ingest.writer import classify_database_error

log = structlog.get_logger("ingest.service")


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
            settings.mqtt_endpoint(),
            share_group=settings.mqtt_share_group,
            protocol=settings.mqtt_protocol,
            session_expiry_s=settings.mqtt_session_expiry_s,
            persistent_session=settings.mqtt_persistent_session or retire,
            backoff_max_s=settings.mqtt_backoff_max_s,
        )
        self.consumer = MqttConsumer(
            self.broker,
            buffer=self.buffer,
            metrics=self.metrics,
            future_tolerance=timedelta(seconds=settings.future_tolerance_s),
            max_payload_bytes=settings.max_payload_bytes,
            retire=retire,
            hub_acks=settings.hub_acks,
        )
        self.retire = retire
        self.stopping = threading.Event()
        self.metrics_port: int | None = None
        self.failure: BaseException | None = None
        self._give_up_at: float | None = None
        self._writer_threads = [
            threading.Thread(
                target=self._writer_main,
                args=(
                    Committer(
                        database_url=settings.database_url,
                        metrics=self.metrics,
                        backoff_max_s=settings.db_backoff_max_s,
                        max_dead_letter_bytes=settings.max_dead_letter_bytes,
                        give_up=self._deadline_passed,
                        name=f"writer-{i}",
                    ),
                ),
                name=f"ingest-writer-{i}",
                daemon=True,
            )
            for i in range(settings.writers)
        ]
        self._next_missing_check = time.monotonic()
        self._periodic_rules = periodic_rules(missing_measurement_days=settings.missing_measurement_days)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self.settings.metrics_port:
            self.metrics_port = self.metrics.serve(self.settings.metrics_host, self.settings.metrics_port)
        self.metrics.db_up.set(0)
        for thread in self._writer_threads:
            thread.start()
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
            writers=self.settings.writers,
        )

    def run_forever(self) -> int:
        """Run until :meth:`request_stop` (the CLI wires SIGTERM/SIGINT to it). Returns an exit code."""
        while not self.stopping.wait(timeout=1.0):
            if not (all(t.is_alive() for t in self._writer_threads) and self.consumer.alive):
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
            log.error("ingest.retire_not_connected", client_id=self.broker.endpoint.client_id)
            return self.shutdown() or 1
        while not self.stopping.wait(timeout=0.2):
            idle = time.monotonic() - self.consumer.last_message_monotonic
            if idle >= idle_s and self.buffer.outstanding == 0:
                break
        code = self.shutdown()
        if code == 0 and self.buffer.outstanding == 0:
            try:
                forget_session(self.broker)
            except MqttConnectError as error:
                log.error(  # noqa: TRY400 - the error's fields say it all; no traceback
                    "ingest.retire_forget_refused",
                    client_id=self.broker.endpoint.client_id,
                    reason=error.reason,
                    reason_code=error.reason_code,
                    error=str(error),
                    hint="the broker keeps this session; run the retire again with working credentials",
                )
                return 1
            log.info("ingest.retired", client_id=self.broker.endpoint.client_id)
        return code

    def shutdown(self) -> int:
        """Drain: stop reading, commit and ack what was read, disconnect. Returns the exit code."""
        self.stopping.set()
        log.info("ingest.draining", outstanding=self.buffer.outstanding)
        self._give_up_at = time.monotonic() + self.settings.shutdown_timeout_s
        self.consumer.stop_reading()
        self.buffer.flush_all()
        for thread in self._writer_threads:
            thread.join(timeout=max(0.1, self._give_up_at + 5 - time.monotonic()))
        self.consumer.close()
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
                opened = run_periodic(conn, self._periodic_rules)
        except psycopg.Error as error:
            log.warning("ingest.missing_check_failed", error=str(classify_database_error(error)))
            return
        if opened:
            self.metrics.record_alerts(Counter((alert.alert_type, alert.level) for alert in opened))
            for alert_type in sorted({alert.alert_type for alert in opened}):
                citizens = [alert.citizen_id for alert in opened if alert.alert_type is alert_type]
                log.info("ingest.alerts_opened", alert_type=str(alert_type), citizens=citizens)

    # -- the writer threads -----------------------------------------------------------------
    def _writer_main(self, committer: Committer) -> None:
        committer.connect()  # early, so that ingest_db_up tells the truth before the first batch
        try:
            while True:
                batch = self.buffer.take(self.stopping)
                if not batch:
                    return
                committed = committer.commit(batch)
                self.buffer.release(batch)  # before the ack, whose wake-up then finds the room
                if committed:
                    self.consumer.ack(batch)
                if not committed:
                    return  # shutdown deadline passed with the database down: leave the rest unacked
        except BaseException as error:
            self.failure = error
            log.exception("ingest.writer_failed")
            self.stopping.set()
            raise
        finally:
            committer.close()

    def _deadline_passed(self) -> bool:
        return self._give_up_at is not None and time.monotonic() > self._give_up_at
