"""Settings of the ingest service, read from ``INGEST_*`` variables (docs/ingest.md).

Only the CLI builds an :class:`IngestSettings`; everything below it takes plain values.
"""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from homevitals.contract.models import MAX_MESSAGE_BYTES
from homevitals.mqtt_endpoint import MqttClientSettings


def _default_client_id() -> str:
    # Stable across restarts of the same host, so the persistent session (and the messages
    # the broker queued for it) is picked up again. Two workers on one host need their own.
    return f"homevitals-ingest-{socket.gethostname()}"[:64]


class IngestSettings(MqttClientSettings):
    """Every setting of ``homevitals ingest run``; names are ``INGEST_`` + the field, upper case."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore", env_file=None)

    database_url: str = Field(
        default="postgresql://localhost/homevitals",
        description="libpq URL; connect as a login role that is a member of homevitals_ingest.",
    )
    # mqtt_host, mqtt_port, mqtt_username, mqtt_password, mqtt_tls, mqtt_ca_file, mqtt_cert_file,
    # mqtt_key_file: MqttClientSettings.
    mqtt_client_id: str = Field(
        default_factory=_default_client_id,
        min_length=1,
        max_length=64,
        description="Stable, unique per worker: it names the persistent session.",
    )
    mqtt_share_group: str = Field(
        default="ingest", pattern=r"^[A-Za-z0-9_-]+$", description="Shared-subscription group."
    )
    mqtt_protocol: Literal["3.1.1", "5"] = Field(
        default="3.1.1", description="MQTT version; the session persists with either (docs/ingest.md)."
    )
    mqtt_keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive.")
    mqtt_persistent_session: bool = Field(
        default=False,
        description="Keep a broker-side session (queues for an absent worker). Off: a clean session, so "
        "a dead worker strands nothing; gateways re-send what the hub did not ack (docs/ingest.md).",
    )
    hub_acks: bool = Field(
        default=True, description="Publish a commit acknowledgement per batch to the gateway's acks topic."
    )
    mqtt_session_expiry_s: int = Field(
        default=0xFFFFFFFF,
        ge=0,
        le=0xFFFFFFFF,
        description="MQTT 5 with a persistent session: how long the broker keeps it while the worker is away "
        "(default never).",
    )
    metrics_host: str = Field(default="0.0.0.0", description="Address of the metrics endpoint.")  # noqa: S104
    metrics_port: int = Field(default=9108, ge=0, le=65535, description="Prometheus port; 0: none.")
    batch_max_readings: int = Field(default=500, ge=1, le=100_000, description="Flush at this many readings…")
    batch_max_wait_ms: int = Field(default=50, ge=1, le=60_000, description="…or when the oldest waited.")
    writers: int = Field(
        default=2, ge=1, le=16, description="Writer threads, each with its own database connection."
    )
    max_buffered_messages: int = Field(
        default=20_000, ge=1, description="Stop reading from the broker beyond this many unacked messages…"
    )
    max_buffered_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="…or beyond this many payload bytes."
    )
    max_payload_bytes: int = Field(
        default=MAX_MESSAGE_BYTES, ge=1024,
        description="Larger messages are dead-lettered; the contract's limit (docs/contract.md).",
    )
    max_dead_letter_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024,
        description="A dead letter keeps its payload whole up to this size; beyond it the first bytes, "
        "with payload_truncated and payload_bytes saying so.",
    )
    future_tolerance_s: int = Field(
        default=300, ge=0, description="measured_at further ahead than this is flagged clock_in_future."
    )
    missing_measurement_days: int = Field(
        default=3, ge=1, le=365, description="'Missing measurements' after this many days without a reading."
    )
    missing_check_interval_s: int = Field(
        default=3600, ge=0, description="How often the missing-measurements job runs; 0 disables it."
    )
    db_backoff_max_s: float = Field(default=10.0, gt=0, description="Longest wait between DB retries.")
    mqtt_backoff_max_s: float = Field(default=10.0, gt=0, description="Longest wait between reconnects.")
    shutdown_timeout_s: float = Field(
        default=30.0, gt=0, description="On SIGTERM, how long to try committing what is in flight."
    )
