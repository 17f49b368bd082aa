"""Pure validation: (topic, payload bytes, now) -> a batch ready to store, or a Rejection.

No I/O. Everything that can't be parsed or validated becomes a :class:`Rejection` with a
machine-readable reason code (docs/ingest.md#dead-letter-reasons); everything that parses but
is doubtful is flagged on the row and stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ValidationError

from homevitals.contract import GatewayStatus, ReadingsBatch
from homevitals.contract.kinds import KINDS
from homevitals.contract.models import SCHEMA_ID, gateway_id_from_topic
from ingest.fast_validation import accept_readings
from ingest.limits import implausible_reasons

# Re-exported: the writer, the consumer and the tests import the row types from here.
from ingest.rows import PreparedReading as PreparedReading  # noqa: PLC0414
from ingest.rows import ValidBatch as ValidBatch  # noqa: PLC0414
from ingest.rows import real_column


class RejectReason(StrEnum):
    """Dead-letter reason codes (``dead_letters.reason``)."""

    INVALID_TOPIC = "invalid_topic"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_JSON = "invalid_json"
    UNKNOWN_SCHEMA = "unknown_schema"
    SCHEMA_VIOLATION = "schema_violation"
    GATEWAY_MISMATCH = "gateway_mismatch"
    INVALID_STATUS = "invalid_status"
    DATABASE_REJECTED = "database_rejected"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str
    gateway_id: str | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    gateway_id: str
    status: GatewayStatus
    status_json: str


Outcome = ValidBatch | StatusReport | Rejection

# A JSON escape for U+0000: "\u0000" after an even number of backslashes (an odd run
# would make it the literal text "\u0000", which is legal and storable).
_NUL_ESCAPE = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000")
_MAX_DETAIL = 2000


def _has_nul_escape(payload: bytes) -> bool:
    # The regex tries every byte of the payload (about 25 µs per reading, half of all
    # validation); the substring test is a memchr-speed scan that almost always says no.
    return b"\\u0000" in payload and _NUL_ESCAPE.search(payload) is not None


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:10]:
        location = ".".join(str(p) for p in item["loc"]) or "(payload)"
        parts.append(f"{location}: {item['msg']}")
    more = error.error_count() - len(parts)
    text = "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    return text[:_MAX_DETAIL]


def _classify_error(error: ValidationError, gateway_id: str) -> Rejection:
    items = error.errors(include_url=False, include_input=False)
    if any(item["type"] == "json_invalid" for item in items):
        return Rejection(RejectReason.INVALID_JSON, _describe(error), gateway_id)
    if any(item["loc"] == ("schema",) and item["type"] != "missing" for item in items):
        return Rejection(
            RejectReason.UNKNOWN_SCHEMA, f"expected schema {SCHEMA_ID!r}; {_describe(error)}", gateway_id
        )
    return Rejection(RejectReason.SCHEMA_VIOLATION, _describe(error), gateway_id)


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result




# A key's closing quote with whitespace before its colon.
_SPACED_COLON = re.compile(rb'"[ \t\r\n]+:')


def _surely_no_duplicate_key(payload: bytes, batch: ReadingsBatch) -> bool:
    """True only when no object of the validated ``payload`` repeats a key; cheap.

    Without ``\\"`` in the payload every quote delimits a string, so each ``":`` ends a key
    (a quote inside a string would have to be escaped). With no key spaced from its colon,
    ``payload.count(b'":')`` is then the number of keys, repeats included, and the models'
    ``model_fields_set`` hold the distinct ones: equal counts, no repeat. Anything unusual
    answers False, and the exact check runs.
    """
    return (
        b'\\"' not in payload
        and _SPACED_COLON.search(payload) is None
        and payload.count(b'":') == _model_key_count(batch)
    )


def _model_key_count(batch: ReadingsBatch) -> int:
    """How many distinct keys the validated batch was given: every object of a readings
    message is a strict model, and each model's ``model_fields_set`` holds the keys it got."""
    count = len(batch.model_fields_set)
    for reading in batch.readings:
        count += (
            len(reading.model_fields_set)
            + len(reading.device.model_fields_set)
            + len(reading.values.model_fields_set)
            + len(reading.raw.model_fields_set)
        )
        if reading.status is not None:
            count += len(reading.status.model_fields_set)
    return count


def _duplicate_key(payload: bytes) -> str | None:
    """The first key that appears twice in one JSON object, or ``None``.

    pydantic's JSON parser keeps the last value of a repeated key; a second parse with a
    pair hook is the only way to see it. Run only on messages that already validated.
    """
    try:
        json.loads(payload, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKeyError as error:
        return error.key
    return None


def _json(model: BaseModel) -> str:
    """``model.model_dump_json()``, without its wrapper's cost."""
    return type(model).__pydantic_serializer__.to_json(model).decode()


def _refuse_parsed(payload: bytes, batch: ReadingsBatch, gateway_id: str) -> Rejection | None:
    """The refusals that need the parsed batch: ambiguous JSON, a gateway speaking for another."""
    # The exact parse (a second one, with a Python hook per object) runs only when the cheap
    # count can't rule a repeated key out; it decides, and names the key.
    duplicate = None if _surely_no_duplicate_key(payload, batch) else _duplicate_key(payload)
    if duplicate is not None:
        return Rejection(
            RejectReason.INVALID_JSON,
            f"duplicate key {duplicate!r} in one object: RFC 8259 leaves its meaning open, "
            "so the message is refused rather than letting the last value win",
            gateway_id,
        )
    claimed_gateway = batch.gateway_id
    if claimed_gateway != gateway_id:
        return Rejection(
            RejectReason.GATEWAY_MISMATCH,
            f"topic names gateway {gateway_id!r} but the payload says {claimed_gateway!r}: "
            "a gateway may only publish its own readings",
            gateway_id,
        )
    return None


def validate_readings(
    topic: str, payload: bytes, *, now: datetime, future_tolerance: timedelta, max_payload_bytes: int
) -> ValidBatch | Rejection:
    """Validate one message from ``homevitals/v1/gateways/{id}/readings`` against contract v1.

    The accept-only fast path (ingest/fast_validation.py) answers first for the ordinary
    message; whatever it is not sure of, the pydantic path decides, refusals included.
    """
    gateway_id = gateway_id_from_topic(topic, "readings")
    if gateway_id is not None and len(payload) <= max_payload_bytes:
        accepted = accept_readings(payload, gateway_id, future_limit=now + future_tolerance)
        if accepted is not None:
            return accepted
    return validate_readings_with_pydantic(
        topic, payload, now=now, future_tolerance=future_tolerance, max_payload_bytes=max_payload_bytes
    )


def validate_readings_with_pydantic(
    topic: str, payload: bytes, *, now: datetime, future_tolerance: timedelta, max_payload_bytes: int
) -> ValidBatch | Rejection:
    """:func:`validate_readings` by the contract's pydantic models alone: the authority."""
    gateway_id = gateway_id_from_topic(topic, "readings")
    if gateway_id is None:
        return Rejection(RejectReason.INVALID_TOPIC, f"not a v1 readings topic: {topic[:300]!r}", None)
    if len(payload) > max_payload_bytes:
        return Rejection(
            RejectReason.PAYLOAD_TOO_LARGE,
            f"{len(payload)} bytes, more than the {max_payload_bytes} allowed",
            gateway_id,
        )
    if _has_nul_escape(payload):
        return Rejection(
            RejectReason.SCHEMA_VIOLATION, "contains \\u0000, which PostgreSQL text cannot store", gateway_id
        )
    try:
        batch = ReadingsBatch.model_validate_json(payload)
    except ValidationError as error:
        return _classify_error(error, gateway_id)
    refusal = _refuse_parsed(payload, batch, gateway_id)
    if refusal is not None:
        return refusal
    future_limit = now + future_tolerance
    rows = []
    for reading in batch.readings:
        kind = reading.kind
        # The models' serialisers directly: model_dump*'s Python wrappers cost as much again.
        values_serializer = type(reading.values).__pydantic_serializer__
        values = values_serializer.to_python(reading.values)
        reasons = implausible_reasons(kind, values)
        device = reading.device
        main_field = KINDS[kind].main_value
        rows.append(
            PreparedReading(
                reading_id=reading.reading_id,
                measured_at=reading.measured_at,
                kind=str(kind),
                address=device.address.upper(),
                user_slot=reading.user_id,
                gateway_id=gateway_id,
                batch_seq=batch.batch_seq,
                device_time=reading.device_time,
                gateway_time=reading.gateway_time,
                time_source=str(reading.time_source),
                unit=reading.unit,
                original_unit=reading.original_unit,
                systolic=real_column(values.get("systolic")),
                diastolic=real_column(values.get("diastolic")),
                mean_arterial_pressure=real_column(values.get("mean_arterial_pressure")),
                pulse_rate=real_column(values.get("pulse_rate")),
                value=values.get(main_field) if main_field is not None else None,
                values_json=values_serializer.to_json(reading.values).decode(),
                status_json=_json(reading.status) if reading.status is not None else None,
                invalid_values=list(reading.invalid_values) or None,
                implausible=bool(reasons),
                implausible_reasons=reasons or None,
                clock_in_future=reading.measured_at > future_limit,
                raw_uuid=reading.raw.uuid,
                raw=bytes.fromhex(reading.raw.hex),
                serial=device.serial,
                manufacturer=device.manufacturer,
                model=device.model,
                firmware=device.firmware,
                battery_level=reading.battery_level,
            )
        )
    return ValidBatch(gateway_id=gateway_id, batch_seq=batch.batch_seq, readings=rows)


def validate_status(topic: str, payload: bytes, *, max_payload_bytes: int) -> StatusReport | Rejection:
    """Validate a retained ``homevitals/v1/gateways/{id}/status`` message (or a last will)."""
    gateway_id = gateway_id_from_topic(topic, "status")
    if gateway_id is None:
        return Rejection(RejectReason.INVALID_TOPIC, f"not a v1 status topic: {topic[:300]!r}", None)
    if len(payload) > max_payload_bytes:
        return Rejection(
            RejectReason.PAYLOAD_TOO_LARGE,
            f"{len(payload)} bytes, more than the {max_payload_bytes} allowed",
            gateway_id,
        )
    if _has_nul_escape(payload):
        return Rejection(
            RejectReason.INVALID_STATUS, "contains \\u0000, which PostgreSQL cannot store", gateway_id
        )
    try:
        status = GatewayStatus.model_validate_json(payload)
    except ValidationError as error:
        return Rejection(RejectReason.INVALID_STATUS, _describe(error), gateway_id)
    return StatusReport(gateway_id=gateway_id, status=status, status_json=status.model_dump_json())


def validate_message(
    topic: str, payload: bytes, *, now: datetime, future_tolerance: timedelta, max_payload_bytes: int
) -> Outcome:
    """Route by topic: readings, status, or a rejection for anything else."""
    if topic.endswith("/status"):
        return validate_status(topic, payload, max_payload_bytes=max_payload_bytes)
    return validate_readings(
        topic, payload, now=now, future_tolerance=future_tolerance, max_payload_bytes=max_payload_bytes
    )
