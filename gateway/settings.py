"""Gateway configuration: ``GATEWAY_*`` environment variables, or a TOML file.

Read once at the edge (``homevitals gateway run``) and passed down as plain values.
Precedence, highest first: command-line options, environment, the TOML file, defaults.
The TOML file uses the field names without the prefix (``mqtt_host = "hub.example"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from homevitals.contract.models import MAX_MESSAGE_BYTES, MAX_READINGS_PER_BATCH, is_valid_gateway_id
from homevitals.errors import ConfigurationError
from homevitals.mqtt_endpoint import MqttClientSettings

BleBackendName = Literal["bleak", "simulator"]


class GatewaySettings(MqttClientSettings):
    """Every setting of ``homevitals gateway``; see docs/gateway.md for the table."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", env_file=None)

    id: str = Field(default="", description="Gateway id, e.g. gw-0042 ([a-z0-9][a-z0-9-]{2,63}).")
    data_dir: Path = Field(
        default=Path("/var/lib/homevitals-gateway"),
        description="Outbox and allow-list (BlueZ keeps link keys in /var/lib/bluetooth).",
    )

    # mqtt_host, mqtt_port, mqtt_username, mqtt_password, mqtt_tls, mqtt_ca_file, mqtt_cert_file,
    # mqtt_key_file, mqtt_keepalive_s: MqttClientSettings.
    mqtt_client_id: str | None = Field(default=None, description="Default: homevitals-gateway-{id}.")
    mqtt_session_expiry_s: int = Field(
        default=7 * 24 * 3600, ge=0, description="MQTT 5 session expiry: how long the broker keeps it."
    )
    mqtt_reconnect_min_s: float = Field(
        default=0.5, gt=0, le=60, description="Reconnect back-off: attempt n waits up to this * 2**n…"
    )
    mqtt_reconnect_max_s: float = Field(
        default=4.0, gt=0, le=600,
        description="…but never more (a random part of it: full jitter, so a fleet spreads out).",
    )
    max_message_bytes: int = Field(
        default=MAX_MESSAGE_BYTES, ge=4096, le=MAX_MESSAGE_BYTES,
        description="Split batches below this: the broker's message_size_limit (the contract's limit).",
    )

    timezone: str = Field(
        default="Europe/Copenhagen", description="Zone of the devices' wall clocks (set by the gateway)."
    )
    clock_tolerance_s: float = Field(
        default=60.0, ge=1, description="Set a device clock that is off by more than this."
    )
    clock_sync_marker: Path | None = Field(
        default=Path("/run/systemd/timesync/synchronized"),
        description="File that exists once NTP synced the Pi's clock; device clocks are set only then. "
        "Empty: always trust the clock (e.g. with chrony).",
    )
    max_connections: int = Field(default=2, ge=1, le=8, description="BLE connections at once.")
    connect_attempts: int = Field(default=4, ge=1, le=20, description="Connection attempts per session.")
    session_timeout_s: float = Field(default=180.0, ge=5, description="Upper bound of one device session.")
    backlog_idle_s: float = Field(
        default=3.0, gt=0, description="A backlog is complete after this long without a record."
    )
    reconnect_cooldown_s: float = Field(
        default=15.0, ge=0, description="Leave a device alone this long after a complete session."
    )
    scan_stall_s: float = Field(
        default=600.0, gt=0, description="Restart scanning after this long without an advertisement."
    )

    outbox_limit: int = Field(
        default=100_000, ge=1, description="Readings in the outbox that raise the alarm."
    )
    status_interval_s: float = Field(default=60.0, gt=0, description="Retained status refresh period.")
    batch_size: int = Field(default=50, ge=1, le=MAX_READINGS_PER_BATCH, description="Readings per batch.")
    inflight_window: int = Field(default=4, ge=1, le=100, description="Batches awaiting PUBACK at once.")
    batch_linger_s: float = Field(
        default=0.5, ge=0, le=60, description="Wait this long after a reading for more to batch with it."
    )
    hub_acks: bool = Field(
        default=True,
        description="Keep each batch until the hub's commit ack (docs/contract.md); false only for a hub "
        "that sends none: then a batch leaves the outbox on PUBACK.",
    )
    hub_ack_timeout_s: float = Field(
        default=10.0, gt=0, le=3600, description="Send a batch again if its hub ack is this late…"
    )
    hub_ack_timeout_max_s: float = Field(
        default=300.0, gt=0, le=86400,
        description="…doubling per attempt up to this (less up to 20 % at random)."
    )
    hub_ack_window: int = Field(
        default=32, ge=1, le=10_000, description="Batches sent and not yet acknowledged by the hub, at most."
    )
    hub_ack_initial_window: int = Field(
        default=1, ge=1, le=10_000,
        description="…and at first after each connect; grows by one per quick ack (docs/gateway.md).",
    )
    dedupe_days: int = Field(default=400, ge=1, description="How long delivered reading ids are remembered.")

    ble_backend: BleBackendName = Field(default="bleak", description="'bleak' (BlueZ) or 'simulator'.")
    ble_adapter: str | None = Field(default=None, description="BlueZ adapter, e.g. hci0.")
    scenario: Path | None = Field(default=None, description="Simulator scenario file.")
    speed: float = Field(default=1.0, gt=0, description="Simulator time compression.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files on purpose
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls), file_secret_settings)

    @field_validator("clock_sync_marker", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. Europe/Copenhagen)") from error
        return value

    @model_validator(mode="after")
    def _reconnect_bounds(self) -> GatewaySettings:
        if self.mqtt_reconnect_min_s > self.mqtt_reconnect_max_s:
            raise ValueError("GATEWAY_MQTT_RECONNECT_MIN_S must not exceed GATEWAY_MQTT_RECONNECT_MAX_S")
        return self

    @property
    def gateway_id(self) -> str:
        """The validated id; commands that publish call this, so a missing id stops them early."""
        if not is_valid_gateway_id(self.id):
            raise ConfigurationError(
                "GATEWAY_ID", f"{self.id!r} is not a gateway id (pattern [a-z0-9][a-z0-9-]{{2,63}})"
            )
        return self.id

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite3"

    @property
    def allowlist_path(self) -> Path:
        return self.data_dir / "allowlist.json"

    def check_secrets(self) -> None:
        self.check_mqtt_password()


def load_settings(config_file: Path | None = None, **overrides: object) -> GatewaySettings:
    """Build the settings from defaults, ``config_file`` (TOML), the environment, ``overrides``."""
    if config_file is not None and not config_file.is_file():
        raise ConfigurationError("--config", f"{config_file} does not exist")
    values = {key: value for key, value in overrides.items() if value is not None}
    if config_file is None:
        return GatewaySettings(**values)  # type: ignore[arg-type]

    class _FromFile(GatewaySettings):
        model_config = SettingsConfigDict(toml_file=config_file)

    return _FromFile(**values)  # type: ignore[arg-type]
