"""An accept-only fast path for readings messages: msgspec decodes, the rows are built directly.

:func:`ingest.validation.validate_readings` tries this first. It answers either a
:class:`ValidBatch` whose rows are exactly the ones the pydantic path builds (field by field,
types too), or ``None``: "not sure", and the pydantic path decides, as the sole authority for
refusals (so every Rejection keeps its reason and detail). It answers ``None`` whenever the
message is in any way unusual (our gateway's ordinary output never is):

- any byte outside ASCII or any backslash: no escapes, so no ``\\u0000``, no escaped quote
  (every quote then delimits a key or a string, so they can be counted), no question of
  string lengths in code points or of how a serialiser escapes;
- anything msgspec refuses: a missing or unknown key, a wrong type (``0.0`` for an integer), a
  number out of range, a pattern not matched (written ``\\A...\\Z`` with ASCII classes:
  fullmatch, as the models apply the schema's);
- a repeated key: msgspec, like pydantic's parser, keeps the last value, so the payload's
  quotes are counted against two per key and string decoded (optional fields default to
  ``UNSET`` to know which keys were given);
- a timestamp pydantic's own parser refuses, a measurement that is not finite or whose
  shortest text has a negative exponent (pydantic writes ``0.00001`` where Python writes
  ``1e-05``), a payload ``gateway_id`` other than the topic's.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Annotated, Final, Literal, TypeVar
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType
from msgspec.structs import astuple
from pydantic_core import SchemaValidator, ValidationError, core_schema

from homevitals.contract.kinds import KINDS
from homevitals.contract.models import (
    ADDRESS_PATTERN,
    MAX_READINGS_PER_BATCH,
    NAIVE_TIMESTAMP_PATTERN,
    SCHEMA_ID,
    UTC_TIMESTAMP_PATTERN,
    Kind,
)
from ingest.limits import implausible_reasons
from ingest.rows import PreparedReading, ValidBatch, real_column

# pydantic's own datetime parsers (lax, as the models' timestamp fields are, after their
# pattern check): the same datetimes, with pydantic's TzInfo, for a sixth of datetime.replace.
_AWARE: Final = SchemaValidator(core_schema.datetime_schema(tz_constraint="aware"))
_NAIVE: Final = SchemaValidator(core_schema.datetime_schema(tz_constraint="naive"))


def _fullmatch(schema_pattern: str) -> str:
    r"""The contract's ``^...$`` pattern as msgspec applies it (``re.search``) with fullmatch
    meaning: ``\A...\Z`` (``$`` would also match before a final newline) and ASCII digits."""
    assert schema_pattern.startswith("^")  # noqa: S101
    assert schema_pattern.endswith("$")  # noqa: S101
    return r"\A" + schema_pattern[1:-1].replace(r"\d", "[0-9]") + r"\Z"


UtcText = Annotated[str, Meta(pattern=_fullmatch(UTC_TIMESTAMP_PATTERN))]
NaiveText = Annotated[str, Meta(pattern=_fullmatch(NAIVE_TIMESTAMP_PATTERN))]
Text64 = Annotated[str, Meta(max_length=64)]
# The contract's Measurement refuses inf (JSON 1e400); msgspec's bounds do it in the decoder.
Finite = Annotated[float, Meta(ge=-sys.float_info.max, le=sys.float_info.max)]


class _Object(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class _Device(_Object):
    address: Annotated[str, Meta(pattern=_fullmatch(ADDRESS_PATTERN))]
    serial: Text64 | UnsetType | None = UNSET
    manufacturer: Text64 | UnsetType | None = UNSET
    model: Text64 | UnsetType | None = UNSET
    firmware: Text64 | UnsetType | None = UNSET


class _Raw(_Object):
    uuid: Annotated[str, Meta(pattern=r"\A[0-9a-f]{4}\Z")]
    hex: Annotated[str, Meta(pattern=r"\A(?:[0-9a-f]{2})+\Z", max_length=1024)]


class _BloodPressureValues(_Object):
    systolic: Finite | None
    diastolic: Finite | None
    mean_arterial_pressure: Finite | None
    pulse_rate: Finite | UnsetType | None = UNSET


class _WeightValues(_Object):
    weight: Finite | None
    bmi: Finite | UnsetType | None = UNSET
    height: Finite | UnsetType | None = UNSET


class _GlucoseValues(_Object):
    glucose: Finite | None
    sequence_number: Annotated[int, Meta(ge=0, le=65535)] | UnsetType | None = UNSET


class _TemperatureValues(_Object):
    temperature: Finite | None


class _PulseOximetryValues(_Object):
    spo2: Finite | None
    pulse_rate: Finite | UnsetType | None = UNSET


class _BloodPressureStatus(_Object):
    body_movement: bool
    cuff_fit_loose: bool
    irregular_pulse: bool
    pulse_rate_range: Literal["in_range", "exceeds_upper", "below_lower", "reserved"]
    improper_position: bool


class _GlucoseStatus(_Object):
    sample_type: str | UnsetType | None = UNSET
    sample_location: str | UnsetType | None = UNSET
    sensor_status: list[str] | UnsetType = UNSET


class _TemperatureStatus(_Object):
    temperature_type: str | UnsetType | None = UNSET


class _Reading(_Object, tag_field="kind"):
    # Required fields first: each kind's subclass adds its own (keyword-only) after these.
    reading_id: UUID
    device: _Device
    user_id: Annotated[int, Meta(ge=0, le=255)] | None
    device_time: NaiveText | None
    gateway_time: UtcText
    measured_at: UtcText
    time_source: Literal["device", "device_corrected", "gateway"]
    raw: _Raw
    original_unit: Annotated[str, Meta(max_length=16)] | UnsetType | None = UNSET
    invalid_values: list[str] | UnsetType = UNSET
    battery_level: Annotated[int, Meta(ge=0, le=100)] | UnsetType | None = UNSET


class _BloodPressureReading(_Reading, tag="blood_pressure", kw_only=True):
    unit: Literal["mmHg"]
    values: _BloodPressureValues
    status: _BloodPressureStatus | UnsetType | None = UNSET


class _WeightReading(_Reading, tag="weight", kw_only=True):
    unit: Literal["kg"]
    values: _WeightValues
    status: UnsetType | None = UNSET


class _GlucoseReading(_Reading, tag="glucose", kw_only=True):
    unit: Literal["mmol/L"]
    values: _GlucoseValues
    status: _GlucoseStatus | UnsetType | None = UNSET


class _TemperatureReading(_Reading, tag="temperature", kw_only=True):
    unit: Literal["Cel"]
    values: _TemperatureValues
    status: _TemperatureStatus | UnsetType | None = UNSET


class _PulseOximetryReading(_Reading, tag="pulse_oximetry", kw_only=True):
    unit: Literal["%"]
    values: _PulseOximetryValues
    status: UnsetType | None = UNSET


_AnyReading = (
    _BloodPressureReading | _WeightReading | _GlucoseReading | _TemperatureReading | _PulseOximetryReading
)


class _Batch(_Object):
    schema: Literal["homevitals.readings.v1"]
    gateway_id: str
    batch_seq: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    sent_at: UtcText
    readings: Annotated[list[_AnyReading], Meta(min_length=1, max_length=MAX_READINGS_PER_BATCH)]


assert SCHEMA_ID == "homevitals.readings.v1"  # noqa: S101 - the Literal above must follow it

_DECODER: Final = msgspec.json.Decoder(_Batch)

_KIND_OF: Final[dict[type[_Reading], Kind]] = {
    _BloodPressureReading: Kind.BLOOD_PRESSURE,
    _WeightReading: Kind.WEIGHT,
    _GlucoseReading: Kind.GLUCOSE,
    _TemperatureReading: Kind.TEMPERATURE,
    _PulseOximetryReading: Kind.PULSE_OXIMETRY,
}


#: Per reading type: its kind, the kind's text (as the rows carry it), its main value field.
_KIND_FACTS: Final[dict[type[_Reading], tuple[Kind, str, str | None]]] = {
    struct: (kind, str(kind), KINDS[kind].main_value) for struct, kind in _KIND_OF.items()
}
_STRUCTS: Final[tuple[type[Struct], ...]] = (
    _Batch, _Device, _Raw, *_KIND_OF,
    _BloodPressureValues, _WeightValues, _GlucoseValues, _TemperatureValues, _PulseOximetryValues,
    _BloodPressureStatus, _GlucoseStatus, _TemperatureStatus,
)  # fmt: skip
#: Keys an object of the type has when every optional field is given (a reading's tag too);
#: each UNSET field is one fewer.
_MOST_KEYS: Final[dict[type[Struct], int]] = {
    struct: len(struct.__struct_fields__) + (1 if struct in _KIND_OF else 0) for struct in _STRUCTS
}
_VALUE_STRUCTS: Final[tuple[type[Struct], ...]] = (
    _BloodPressureValues, _WeightValues, _GlucoseValues, _TemperatureValues, _PulseOximetryValues,
)  # fmt: skip
_VALUE_FIELDS: Final = {struct: struct.__struct_fields__ for struct in _VALUE_STRUCTS}
#: ``values`` as pydantic's serialiser writes them, every field in order, when some are UNSET
#: (msgspec's encoder would leave them out, pydantic writes null).
_VALUES_JSON: Final = {
    struct: "{" + ",".join(f'"{name}":%s' for name in names) + "}" for struct, names in _VALUE_FIELDS.items()
}
_ENCODER: Final = msgspec.json.Encoder()
# A number in exponent form is where msgspec (1e16), repr (1e+16, 1e-05) and pydantic (1e+16,
# 0.00001) part ways; without one all three write the same shortest text. Told by counting
# the e's: the field names' are all a values text has otherwise.
_NAME_ES: Final = {struct: text.count("e") for struct, text in _VALUES_JSON.items()}


_ZERO: Final = timedelta(0)


class _NotSure(Exception):
    """The fast path can't vouch for this message."""


def _values(values: Struct) -> tuple[dict[str, float | int | None], str]:
    """``values`` as pydantic's ``to_python`` and ``to_json`` give them: every field, in order,
    a measurement as a float (128.0)."""
    numbers = astuple(values)
    if UNSET in numbers:
        numbers = tuple(None if number is UNSET else number for number in numbers)
        text = _VALUES_JSON[type(values)] % tuple("null" if n is None else repr(n) for n in numbers)
    else:
        text = _ENCODER.encode(values).decode()
    if text.count("e") != _NAME_ES[type(values)]:
        raise _NotSure
    return dict(zip(_VALUE_FIELDS[type(values)], numbers, strict=False)), text


def _text_json(value: str | None) -> str:
    # Plain ASCII without quotes, backslashes or control characters (the payload has no
    # backslash, msgspec refuses raw control characters): written as is, as pydantic does.
    return "null" if value is None else f'"{value}"'


def _status_json(status: Struct | UnsetType | None) -> str | None:
    if status is None or status is UNSET:
        return None
    if type(status) is _BloodPressureStatus:
        return (
            f'{{"body_movement":{_bool_json(status.body_movement)},'
            f'"cuff_fit_loose":{_bool_json(status.cuff_fit_loose)},'
            f'"irregular_pulse":{_bool_json(status.irregular_pulse)},'
            f'"pulse_rate_range":"{status.pulse_rate_range}",'
            f'"improper_position":{_bool_json(status.improper_position)}}}'
        )
    if type(status) is _GlucoseStatus:
        sensor = [] if status.sensor_status is UNSET else status.sensor_status
        return (
            f'{{"sample_type":{_text_json(_given(status.sample_type))},'
            f'"sample_location":{_text_json(_given(status.sample_location))},'
            f'"sensor_status":[{",".join(_text_json(s) for s in sensor)}]}}'
        )
    if type(status) is _TemperatureStatus:
        return f'{{"temperature_type":{_text_json(_given(status.temperature_type))}}}'
    raise _NotSure


def _bool_json(value: bool) -> str:
    return "true" if value else "false"


_T = TypeVar("_T")


def _given(value: _T | UnsetType) -> _T | None:
    return None if isinstance(value, UnsetType) else value


def _utc_time(text: str) -> datetime:
    # The text matched the contract's UTC pattern; what the parser still refuses (a 30
    # February) the pydantic path refuses too, and says so.
    try:
        parsed: datetime = _AWARE.validate_python(text)
    except ValidationError:
        raise _NotSure from None
    if parsed.utcoffset() != _ZERO:  # the pattern allows only Z and +00:00; belt and braces
        raise _NotSure
    return parsed


def _device_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        parsed: datetime = _NAIVE.validate_python(text)
    except ValidationError:
        raise _NotSure from None
    return parsed


def _strings(value: object) -> int:
    return 1 if type(value) is str else len(value) if type(value) is list else 0


def _quote_count(batch: _Batch) -> int:
    """How many ``"`` the payload has if no object repeats a key: two per key (a reading's
    tag and every optional field msgspec saw, i.e. not UNSET) and two per string value.

    msgspec, like pydantic's parser, keeps the last of a repeated key, so a repeat leaves
    the payload with more quotes than this. Without backslashes every quote delimits a key
    or a string, however the JSON is spaced.
    """
    most = _MOST_KEYS
    keys = most[_Batch] - astuple(batch).count(UNSET)
    texts = 3  # schema, gateway_id, sent_at
    for reading in batch.readings:
        values = reading.values
        status = reading.status
        device = reading.device
        keys += (
            most[type(reading)] - astuple(reading).count(UNSET)
            + most[_Device] - astuple(device).count(UNSET)
            + most[_Raw]
            + most[type(values)] - astuple(values).count(UNSET)
        )
        # reading_id, the tag, gateway_time, measured_at, time_source, unit; address; raw's two
        texts += (
            9 + (reading.device_time is not None) + _strings(reading.original_unit)
            + _strings(reading.invalid_values) + _strings(device.serial) + _strings(device.manufacturer)
            + _strings(device.model) + _strings(device.firmware)
        )
        if type(status) is _BloodPressureStatus:
            keys += most[_BloodPressureStatus]
            texts += 1  # pulse_rate_range
        elif status is not None and status is not UNSET:
            fields = astuple(status)
            keys += most[type(status)] - fields.count(UNSET)
            texts += sum(map(_strings, fields))
    return 2 * (keys + texts)


def accept_readings(payload: bytes, gateway_id: str, *, future_limit: datetime) -> ValidBatch | None:
    """The rows of a readings message from the topic of ``gateway_id``, or None: not sure.

    ``future_limit``: a ``measured_at`` after it is flagged ``clock_in_future``.
    """
    if not payload.isascii() or b"\\" in payload:
        return None
    try:
        batch = _DECODER.decode(payload)
    except msgspec.MsgspecError:
        return None
    if batch.gateway_id != gateway_id or payload.count(b'"') != _quote_count(batch):
        return None
    try:
        _utc_time(batch.sent_at)
        rows = [_row(reading, gateway_id, batch.batch_seq, future_limit) for reading in batch.readings]
    except _NotSure:
        return None
    return ValidBatch(gateway_id=gateway_id, batch_seq=batch.batch_seq, readings=rows)


def _row(reading: _AnyReading, gateway_id: str, batch_seq: int, future_limit: datetime) -> PreparedReading:
    kind, kind_text, main_field = _KIND_FACTS[type(reading)]
    values, values_json = _values(reading.values)
    reasons = implausible_reasons(kind, values)
    device = reading.device
    raw = reading.raw
    measured_at = _utc_time(reading.measured_at)
    invalid_values = reading.invalid_values
    systolic = values.get("systolic")
    diastolic = values.get("diastolic")
    mean_arterial_pressure = values.get("mean_arterial_pressure")
    pulse_rate = values.get("pulse_rate")
    battery_level = reading.battery_level
    # Positional, in PreparedReading's field order (keywords cost a third of the row here);
    # the tests compare every field with the pydantic path's.
    return PreparedReading(
        reading.reading_id,
        measured_at,
        kind_text,
        device.address.upper(),
        reading.user_id,
        gateway_id,
        batch_seq,
        _device_time(reading.device_time),
        _utc_time(reading.gateway_time),
        reading.time_source,
        reading.unit,
        _given(reading.original_unit),
        real_column(systolic),
        real_column(diastolic),
        real_column(mean_arterial_pressure),
        real_column(pulse_rate),
        values.get(main_field) if main_field is not None else None,
        values_json,
        _status_json(reading.status),
        None if invalid_values is UNSET or not invalid_values else invalid_values,
        bool(reasons),
        reasons or None,
        measured_at > future_limit,
        raw.uuid,
        bytes.fromhex(raw.hex),
        None if device.serial is UNSET else device.serial,
        None if device.manufacturer is UNSET else device.manufacturer,
        None if device.model is UNSET else device.model,
        None if device.firmware is UNSET else device.firmware,
        None if battery_level is UNSET else battery_level,
    )
