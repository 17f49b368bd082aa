"""MQTT contract v1: the readings batch a gateway publishes (docs/contract.md).

Topic ``homevitals/v1/gateways/{gateway_id}/readings``, QoS 1, not retained, UTF-8 JSON.
The JSON Schema in docs/contract/readings.v1.schema.json is generated from these models.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NaiveDatetime,
)

SCHEMA_ID: Final = "homevitals.readings.v1"
GATEWAY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,63}$"
ADDRESS_PATTERN = r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$"
UTC_TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|\+00:00)$"
NAIVE_TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"
MAX_READINGS_PER_BATCH = 1000
#: The largest readings or status message, in bytes (docs/contract.md "Limits"). A gateway
#: splits its batches below it; the hub dead-letters a larger message whole.
MAX_MESSAGE_BYTES: Final = 1024 * 1024

_GATEWAY_ID = re.compile(GATEWAY_ID_PATTERN)


def _text_matching(pattern: str, what: str) -> Callable[[object], object]:
    """A before-validator holding JSON text to the published schema's ``pattern``.

    pydantic's datetime parser is more lenient than the schema (a space for ``T``, ``z``,
    ``-00:00``), and the contract is the schema: what it refuses, ingest refuses.
    Python ``datetime`` values (a gateway building a reading) pass through. The field is
    then parsed in lax mode (strict mode would refuse the checked text after a
    before-validator), which is safe because only matching text and datetimes reach it.
    """
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str) or compiled.fullmatch(value) is None:
            raise ValueError(f"{what} must be text matching {pattern}")
        return value

    return check


def _must_be_utc(value: datetime) -> datetime:
    if value.utcoffset() != timedelta(0):
        raise ValueError("must be in UTC (suffix Z or +00:00)")
    return value


UtcDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_text_matching(UTC_TIMESTAMP_PATTERN, "a UTC timestamp")),
    AfterValidator(_must_be_utc),
    Field(strict=False, json_schema_extra={"pattern": UTC_TIMESTAMP_PATTERN}),
]
def _naive_timestamp_schema(schema: dict[str, Any]) -> None:
    # RFC 3339's date-time (JSON Schema "format") requires an offset; the device clock has
    # none, so the pattern alone says what is allowed.
    schema.pop("format", None)
    schema["pattern"] = NAIVE_TIMESTAMP_PATTERN


DeviceDatetime = Annotated[
    NaiveDatetime,
    BeforeValidator(_text_matching(NAIVE_TIMESTAMP_PATTERN, "a device timestamp")),
    Field(strict=False, json_schema_extra=_naive_timestamp_schema),
]
GatewayId = Annotated[str, Field(pattern=GATEWAY_ID_PATTERN)]
Measurement = Annotated[float, Field(allow_inf_nan=False)]


def is_valid_gateway_id(value: str) -> bool:
    return bool(_GATEWAY_ID.match(value))


class _Strict(BaseModel):
    # strict: JSON "128" is not a number. Validate payloads with model_validate_json.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Kind(StrEnum):
    BLOOD_PRESSURE = "blood_pressure"
    WEIGHT = "weight"
    GLUCOSE = "glucose"
    TEMPERATURE = "temperature"
    PULSE_OXIMETRY = "pulse_oximetry"


class TimeSource(StrEnum):
    DEVICE = "device"
    DEVICE_CORRECTED = "device_corrected"
    GATEWAY = "gateway"


class PulseRateRange(StrEnum):
    IN_RANGE = "in_range"
    EXCEEDS_UPPER = "exceeds_upper"
    BELOW_LOWER = "below_lower"
    RESERVED = "reserved"


class DeviceInfo(_Strict):
    """The measuring device. ``address`` is its Bluetooth identity address."""

    address: str = Field(pattern=ADDRESS_PATTERN)
    serial: str | None = Field(default=None, max_length=64)
    manufacturer: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=64)
    firmware: str | None = Field(default=None, max_length=64)


class RawValue(_Strict):
    """The exact characteristic bytes, so a decoder bug can be fixed by decoding again."""

    uuid: str = Field(pattern=r"^[0-9a-f]{4}$", description="16-bit characteristic UUID")
    hex: str = Field(pattern=r"^([0-9a-f]{2})+$", max_length=1024)


class BloodPressureValues(_Strict):
    systolic: Measurement | None
    diastolic: Measurement | None
    mean_arterial_pressure: Measurement | None
    pulse_rate: Measurement | None = None


class BloodPressureStatus(_Strict):
    body_movement: bool
    cuff_fit_loose: bool
    irregular_pulse: bool
    pulse_rate_range: PulseRateRange
    improper_position: bool


class WeightValues(_Strict):
    weight: Measurement | None = Field(description="kg")
    bmi: Measurement | None = None
    height: Measurement | None = Field(default=None, description="metres")


class GlucoseValues(_Strict):
    glucose: Measurement | None = Field(description="mmol/L")
    sequence_number: int | None = Field(default=None, ge=0, le=65535)


class GlucoseStatus(_Strict):
    sample_type: str | None = None
    sample_location: str | None = None
    sensor_status: list[str] = Field(default_factory=list)


class TemperatureValues(_Strict):
    temperature: Measurement | None = Field(description="degrees Celsius")


class TemperatureStatus(_Strict):
    temperature_type: str | None = None


class PulseOximetryValues(_Strict):
    spo2: Measurement | None = Field(description="%")
    pulse_rate: Measurement | None = None


class _ReadingBase(_Strict):
    reading_id: UUID = Field(description="UUIDv5, see docs/contract.md#reading_id")
    device: DeviceInfo
    user_id: int | None = Field(ge=0, le=255)
    device_time: DeviceDatetime | None = Field(description="Device clock, naive, as reported")
    gateway_time: UtcDatetime = Field(description="Gateway clock (UTC) when the bytes arrived")
    measured_at: UtcDatetime = Field(description="Best UTC estimate of the measurement time")
    time_source: TimeSource
    original_unit: str | None = Field(
        default=None, max_length=16, description="Unit the device sent, when not the canonical"
    )
    invalid_values: list[str] = Field(
        default_factory=list, description="Fields the device reported as NaN/NRes/INF"
    )
    battery_level: int | None = Field(default=None, ge=0, le=100)
    raw: RawValue


class BloodPressureReading(_ReadingBase):
    kind: Literal[Kind.BLOOD_PRESSURE]
    unit: Literal["mmHg"]
    values: BloodPressureValues
    status: BloodPressureStatus | None = None


class WeightReading(_ReadingBase):
    kind: Literal[Kind.WEIGHT]
    unit: Literal["kg"]
    values: WeightValues
    status: None = None


class GlucoseReading(_ReadingBase):
    kind: Literal[Kind.GLUCOSE]
    unit: Literal["mmol/L"]
    values: GlucoseValues
    status: GlucoseStatus | None = None


class TemperatureReading(_ReadingBase):
    kind: Literal[Kind.TEMPERATURE]
    unit: Literal["Cel"]
    values: TemperatureValues
    status: TemperatureStatus | None = None


class PulseOximetryReading(_ReadingBase):
    kind: Literal[Kind.PULSE_OXIMETRY]
    unit: Literal["%"]
    values: PulseOximetryValues
    status: None = None


Reading = Annotated[
    BloodPressureReading | WeightReading | GlucoseReading | TemperatureReading | PulseOximetryReading,
    Field(discriminator="kind"),
]


class ReadingsBatch(_Strict):
    """One MQTT message on ``homevitals/v1/gateways/{gateway_id}/readings``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        title="homevitals readings batch v1",
        json_schema_extra={"$id": "https://homevitals.dk/schemas/readings.v1.schema.json"},
    )

    schema_: Literal["homevitals.readings.v1"] = Field(alias="schema")
    gateway_id: GatewayId
    batch_seq: int = Field(ge=0, le=2**63 - 1, description="Rises by one per batch")
    sent_at: UtcDatetime
    readings: list[Reading] = Field(min_length=1, max_length=MAX_READINGS_PER_BATCH)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=False).encode()

    @classmethod
    def compose_json(
        cls, *, gateway_id: str, batch_seq: int, sent_at: datetime, readings_json: Sequence[str]
    ) -> bytes:
        """The wire form of a batch whose readings were validated and serialised one by one.

        Byte for byte what :meth:`to_json_bytes` gives for the same batch: the envelope goes
        through this model's serialiser, each reading's JSON (``model_dump_json`` of a
        reading model) is set in as it is, so a gateway validates each reading once, when
        it is built, and not again per batch.
        """
        envelope = cls.model_construct(
            None, schema_=SCHEMA_ID, gateway_id=gateway_id, batch_seq=batch_seq, sent_at=sent_at,
            readings=[],
        )
        head = envelope.model_dump_json(by_alias=True, exclude={"readings"})
        return f'{head[:-1]},"readings":[{",".join(readings_json)}]}}'.encode()


class GatewayState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class DeviceStatus(_Strict):
    address: str = Field(pattern=ADDRESS_PATTERN)
    model: str | None = None
    battery: int | None = Field(default=None, ge=0, le=100)
    last_seen: UtcDatetime | None = None
    rssi: int | None = None


class GatewayStatus(BaseModel):
    """Retained message on ``homevitals/v1/gateways/{gateway_id}/status``.

    The last will is just ``{"state": "offline"}``, so every other field is optional.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    state: GatewayState
    version: str | None = None
    uptime_s: float | None = None
    outbox_depth: int | None = Field(default=None, ge=0)
    outbox_full: bool | None = None
    devices: list[DeviceStatus] = Field(default_factory=list)
    sent_at: UtcDatetime | None = None


def readings_topic(gateway_id: str) -> str:
    return f"homevitals/v1/gateways/{gateway_id}/readings"


def status_topic(gateway_id: str) -> str:
    return f"homevitals/v1/gateways/{gateway_id}/status"


READINGS_SUBSCRIPTION = "homevitals/v1/gateways/+/readings"
STATUS_SUBSCRIPTION = "homevitals/v1/gateways/+/status"


def gateway_id_from_topic(topic: str, channel: str) -> str | None:
    """The gateway id of a v1 ``channel`` topic (``readings`` or ``status``).

    None when the topic is not ``homevitals/v1/gateways/{gateway_id}/{channel}`` with a valid id.
    """
    parts = topic.split("/")
    if len(parts) != 5 or parts[:3] != ["homevitals", "v1", "gateways"] or parts[4] != channel:
        return None
    return parts[3] if is_valid_gateway_id(parts[3]) else None
