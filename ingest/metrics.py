"""Prometheus metrics of one ingest worker (docs/ingest.md#metrics).

Each worker owns a registry, so tests can run several in one process.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from database.alerts import AlertLevel, AlertType
from ingest.writer import WriteResult

_LATENCY_BUCKETS = (
    0.002,
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    900.0,
    3600.0,
)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 300, 400, 500, 750, 1000, 2000, 5000)


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_received = Counter(
            "ingest_messages_received", "MQTT messages received.", ["topic"], registry=r
        )
        self.readings_received = Counter("ingest_readings_received", "Valid readings received.", registry=r)
        self.readings_stored = Counter("ingest_readings_stored", "Readings newly stored.", registry=r)
        self.readings_duplicate = Counter(
            "ingest_readings_duplicate", "Readings whose reading_id was already stored.", registry=r
        )
        self.readings_implausible = Counter(
            "ingest_readings_implausible", "Stored readings flagged implausible.", registry=r
        )
        self.readings_clock_in_future = Counter(
            "ingest_readings_clock_in_future", "Stored readings measured too far in the future.", registry=r
        )
        self.readings_unassigned = Counter(
            "ingest_readings_unassigned", "Stored readings with no assignment covering them.", registry=r
        )
        self.readings_quarantined = Counter(
            "ingest_readings_quarantined",
            "Stored readings quarantined: not attributed, no alert (docs/ingest.md#quarantine).",
            ["reason"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "ingest_messages_dead_lettered", "Messages stored in dead_letters.", ["reason"], registry=r
        )
        self.alerts_opened = Counter("ingest_alerts_opened", "Alerts opened.", ["type", "level"], registry=r)
        self.batch_gaps = Counter("ingest_batch_gaps", "Gaps detected in gateways' batch_seq.", registry=r)
        self.batch_seq_missing = Counter(
            "ingest_batch_seq_missing", "batch_seq numbers missing when a gap was detected.", registry=r
        )
        self.batch_seq_late = Counter(
            "ingest_batch_seq_late", "Batches that arrived late and filled a recorded gap.", registry=r
        )
        self.batch_size = Histogram(
            "ingest_batch_size_readings", "Readings per committed batch.", buckets=_BATCH_BUCKETS, registry=r
        )
        self.commit_seconds = Histogram(
            "ingest_commit_seconds",
            "Duration of one batch transaction, BEGIN to COMMIT.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.lag_seconds = Histogram(
            "ingest_lag_seconds",
            "From a reading's gateway_time to the commit that stored it.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.db_errors = Counter("ingest_db_errors", "Failed batch transactions.", ["kind"], registry=r)
        self.db_up = Gauge("ingest_db_up", "1 while the last database attempt succeeded.", registry=r)
        self.mqtt_connected = Gauge("ingest_mqtt_connected", "1 while subscribed to the broker.", registry=r)
        self.mqtt_reconnects = Counter("ingest_mqtt_reconnects", "Broker (re)connections made.", registry=r)
        self.buffered_messages = Gauge(
            "ingest_buffered_messages", "Messages received and not yet acknowledged.", registry=r
        )
        self.reading_paused = Gauge(
            "ingest_reading_paused", "1 while reading from the broker is paused (buffer full).", registry=r
        )
        self.acks_skipped = Counter(
            "ingest_acks_skipped",
            "Committed messages not acknowledged because their connection was gone (redelivered).",
            registry=r,
        )
        self.hub_acks = Counter(
            "ingest_hub_acks",
            "Hub commit acknowledgements published to gateways' acks topics (docs/contract.md).",
            ["outcome"],
            registry=r,
        )

    def serve(self, host: str, port: int) -> int:
        """Start the /metrics endpoint in a daemon thread; returns the bound port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_port)

    def record_alerts(self, opened: Mapping[tuple[AlertType, AlertLevel], int]) -> None:
        for (alert_type, level), count in opened.items():
            self.alerts_opened.labels(type=str(alert_type), level=str(level)).inc(count)

    def record(self, result: WriteResult, *, commit_seconds: float, committed_at: datetime) -> None:
        self.readings_stored.inc(result.stored)
        self.readings_duplicate.inc(result.duplicates)
        self.readings_implausible.inc(result.implausible)
        self.readings_clock_in_future.inc(result.clock_in_future)
        self.readings_unassigned.inc(result.unassigned)
        for reason, count in result.quarantined.items():
            self.readings_quarantined.labels(reason=reason).inc(count)
        for reason, count in result.dead_letters.items():
            self.dead_lettered.labels(reason=reason).inc(count)
        self.record_alerts(result.alerts_opened)
        self.batch_gaps.inc(len(result.gaps))
        self.batch_seq_missing.inc(sum(gap.missing for gap in result.gaps))
        self.batch_seq_late.inc(result.late_filled)
        if result.readings:
            self.batch_size.observe(result.readings)
        self.commit_seconds.observe(commit_seconds)
        for gateway_time in result.stored_gateway_times:
            self.lag_seconds.observe(max(0.0, (committed_at - gateway_time).total_seconds()))
