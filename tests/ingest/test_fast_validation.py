"""The accept-only fast path (ingest/fast_validation.py) against the pydantic path it fronts.

The fast path may only answer for a message pydantic accepts, with the very rows pydantic's
path builds (types included: a float 128.0 is not an int 128, TzInfo is not timezone.utc);
for anything else it answers None and the pydantic path's Rejection stands, word for word.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from homevitals.contract import Kind
from homevitals.contract.example import EXAMPLE_BATCH
from ingest.fast_validation import accept_readings
from ingest.validation import (
    Rejection,
    RejectReason,
    ValidBatch,
    validate_readings,
    validate_readings_with_pydantic,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TOLERANCE = timedelta(minutes=5)
GATEWAY = "gw-0042"
TOPIC = f"homevitals/v1/gateways/{GATEWAY}/readings"


def fast(payload: bytes, gateway_id: str = GATEWAY) -> ValidBatch | None:
    return accept_readings(payload, gateway_id, future_limit=NOW + TOLERANCE)


def new(payload: bytes, topic: str = TOPIC) -> ValidBatch | Rejection:
    return validate_readings(topic, payload, now=NOW, future_tolerance=TOLERANCE, max_payload_bytes=1 << 20)


def old(payload: bytes, topic: str = TOPIC) -> ValidBatch | Rejection:
    return validate_readings_with_pydantic(
        topic, payload, now=NOW, future_tolerance=TOLERANCE, max_payload_bytes=1 << 20
    )


def _same(a: object, b: object) -> bool:
    # repr tells 128 from 128.0, -0.0 from 0.0, None from [], and TzInfo(0) from timezone.utc.
    return type(a) is type(b) and a == b and repr(a) == repr(b)


def assert_identical(a: ValidBatch | Rejection | None, b: ValidBatch | Rejection) -> None:
    assert type(a) is type(b), (a, b)
    if isinstance(b, Rejection):
        assert a == b
        return
    assert isinstance(a, ValidBatch)
    assert _same(a.gateway_id, b.gateway_id) and _same(a.batch_seq, b.batch_seq)
    assert len(a.readings) == len(b.readings)
    for row_a, row_b in zip(a.readings, b.readings, strict=True):
        for name, value_a, value_b in zip(row_a._fields, row_a, row_b, strict=True):
            assert _same(value_a, value_b), (name, value_a, value_b)


def compact(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


# -- golden messages: every kind on the fast path ------------------------------------------
def _reading(kind: str, unit: str, values: dict[str, Any], status: object = ..., **extra: Any) -> dict[str, Any]:
    r = copy.deepcopy(EXAMPLE_BATCH["readings"][0])
    r.update(kind=kind, unit=unit, values=values, **extra)
    if status is ...:
        del r["status"]
    else:
        r["status"] = status
    return r


def _batch(*readings: dict[str, Any]) -> dict[str, Any]:
    message = copy.deepcopy(EXAMPLE_BATCH)
    message["readings"] = list(readings) or message["readings"]
    return message


GOLDEN_VALID = {
    "example": _batch(),
    "blood pressure without pulse or status": _batch(
        _reading("blood_pressure", "mmHg", {"systolic": 120.5, "diastolic": 80, "mean_arterial_pressure": None})
    ),
    "blood pressure, status null, invalid values, every optional": _batch(
        _reading(
            "blood_pressure", "mmHg",
            {"systolic": None, "diastolic": 82, "mean_arterial_pressure": None, "pulse_rate": 64},
            None, invalid_values=["systolic"], battery_level=100, original_unit="kPa",
        )
    ),
    "weight, implausible, no device time": _batch(
        _reading("weight", "kg", {"weight": 0.3, "bmi": None, "height": 1.8}, None, device_time=None,
                 time_source="gateway", user_id=None)
    ),
    "glucose with status and sequence number": _batch(
        _reading("glucose", "mmol/L", {"glucose": 5.4, "sequence_number": 0},
                 {"sample_type": "capillary whole blood", "sensor_status": ["a", "b c"]})
    ),
    "glucose with an empty status": _batch(_reading("glucose", "mmol/L", {"glucose": 5.4}, {})),
    "temperature with type": _batch(
        _reading("temperature", "Cel", {"temperature": 36.6}, {"temperature_type": "ear"})
    ),
    "pulse oximetry, -0.0 and a large value": _batch(
        _reading("pulse_oximetry", "%", {"spo2": -0.0, "pulse_rate": 1234567890123456.5})
    ),
    "numbers written with exponents whose floats have none": _batch(
        _reading("weight", "kg", {"weight": 1.28E2, "bmi": 1e-05, "height": 0.0001}, None)
    ),
    "twenty readings, future clock": _batch(
        *[_reading("temperature", "Cel", {"temperature": 36 + i / 10}, measured_at="2026-11-29T10:05:00.000001Z")
          for i in range(20)]
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", GOLDEN_VALID)
@pytest.mark.parametrize("dump", [compact, lambda m: json.dumps(m, indent=1).encode()], ids=["compact", "indented"])
def test_valid_messages_take_the_fast_path_with_the_pydantic_rows(name, dump):
    payload = dump(GOLDEN_VALID[name])
    accepted = fast(payload)
    assert accepted is not None
    assert_identical(accepted, old(payload))
    assert_identical(new(payload), old(payload))


def test_a_raw_del_in_status_text_is_written_as_pydantic_writes_it():
    message = _batch(_reading("glucose", "mmol/L", {"glucose": 5.4}, {"sample_type": "a\x7fb"}))
    payload = compact(message).replace(b"\\u007f", b"\x7f")  # json.dumps escapes it; a gateway may not
    assert b"\x7f" in payload and b"\\" not in payload
    accepted = fast(payload)
    assert accepted is not None
    assert_identical(accepted, old(payload))


def test_the_rows_carry_pydantics_types():
    row = fast(compact(GOLDEN_VALID["example"])).readings[0]
    assert type(row.systolic) is float and row.values_json.startswith('{"systolic":128.0,')
    assert type(row.measured_at.tzinfo).__name__ == "TzInfo" and row.device_time.tzinfo is None
    assert row.invalid_values is None and row.status_json is not None


# -- golden refusals and oddities: the fast path stands aside, the Rejection is today's -----
def _replace(old_text: bytes, new_text: bytes) -> bytes:
    payload = compact(EXAMPLE_BATCH)
    assert old_text in payload
    return payload.replace(old_text, new_text, 1)


GOLDEN_NOT_SURE = {
    # refused by pydantic
    "inf from 1e400": (_replace(b'"systolic":128', b'"systolic":1e400'), RejectReason.SCHEMA_VIOLATION),
    "integer written as float": (_replace(b'"batch_seq":1234', b'"batch_seq":0.0'), RejectReason.SCHEMA_VIOLATION),
    "integer with exponent": (_replace(b'"user_id":1', b'"user_id":1e0'), RejectReason.SCHEMA_VIOLATION),
    "boolean for a number": (_replace(b'"systolic":128', b'"systolic":true'), RejectReason.SCHEMA_VIOLATION),
    "duplicate key": (_replace(b'"systolic":128', b'"systolic":128,"systolic":300'), RejectReason.INVALID_JSON),
    "duplicate tag": (
        _replace(b'"kind":"blood_pressure"', b'"kind":"blood_pressure","kind":"blood_pressure"'),
        RejectReason.INVALID_JSON,
    ),
    "duplicate key holding null": (
        _replace(b'"serial":"5081234"', b'"serial":null,"serial":null'), RejectReason.INVALID_JSON
    ),
    "duplicate key, text then null": (
        _replace(b'"serial":"5081234"', b'"serial":"5081234","serial":null'), RejectReason.INVALID_JSON
    ),
    "duplicate key in a list's object": (
        _replace(b'"uuid":"2a35"', b'"uuid":"2a35","uuid":"2a35"'), RejectReason.INVALID_JSON
    ),
    "duplicate key, spaced": (_replace(b'"user_id":1', b'"user_id":1,"user_id" :2'), RejectReason.INVALID_JSON),
    "unknown key": (_replace(b'"user_id":1', b'"user_id":1,"colour":"red"'), RejectReason.SCHEMA_VIOLATION),
    "nul escape": (_replace(b'"serial":"5081234"', b'"serial":"50\\u00001"'), RejectReason.SCHEMA_VIOLATION),
    "timestamp with a newline": (
        _replace(b'"measured_at":"2026-11-29T08:58:00Z"', b'"measured_at":"2026-11-29T08:58:00Z\\n"'),
        RejectReason.SCHEMA_VIOLATION,
    ),
    "lower-case z": (_replace(b'08:58:00Z"', b'08:58:00z"'), RejectReason.SCHEMA_VIOLATION),
    "space for T": (_replace(b"2026-11-29T08:58:00Z", b"2026-11-29 08:58:00Z"), RejectReason.SCHEMA_VIOLATION),
    "-00:00": (_replace(b'08:58:00Z"', b'08:58:00-00:00"'), RejectReason.SCHEMA_VIOLATION),
    "seven fraction digits": (_replace(b"04.512Z", b"04.5123456Z"), RejectReason.SCHEMA_VIOLATION),
    "30 February": (_replace(b'"sent_at":"2026-11-29', b'"sent_at":"2026-02-30'), RejectReason.SCHEMA_VIOLATION),
    "device time with zone": (_replace(b'09:58:00"', b'09:58:00Z"'), RejectReason.SCHEMA_VIOLATION),
    "non-ASCII digits": (_replace(b'"device_time":"2026', "\"device_time\":\"٢026".encode()),
                         RejectReason.SCHEMA_VIOLATION),
    "raw tab in a string": (_replace(b'"serial":"5081234"', b'"serial":"50\t81234"'), RejectReason.INVALID_JSON),
    "address with a newline": (_replace(b'11:22"', b'11:22\\n"'), RejectReason.SCHEMA_VIOLATION),
    "empty readings": (compact({**EXAMPLE_BATCH, "readings": []}), RejectReason.SCHEMA_VIOLATION),
    "unknown schema": (_replace(b'readings.v1"', b'readings.v2"'), RejectReason.UNKNOWN_SCHEMA),
    "not json": (b'{"schema":', RejectReason.INVALID_JSON),
    "weight with a status": (
        _replace(b'"kind":"blood_pressure"', b'"kind":"weight"'), RejectReason.SCHEMA_VIOLATION
    ),
    "another gateway": (_replace(b'"gw-0042"', b'"gw-0099"'), RejectReason.GATEWAY_MISMATCH),
    # accepted by pydantic, but not the fast path's business
    "escaped quote in a value": (_replace(b'"serial":"5081234"', b'"serial":"50\\"8"'), None),
    "non-ASCII text": (_replace(b'"A&D Medical"', '"Åre Médical"'.encode()), None),
    "float beyond a real column": (_replace(b'"systolic":128', b'"systolic":1e39'), None),
    "tiny float": (_replace(b'"systolic":128', b'"systolic":1e-7'), None),
    "UUID in braces": (_replace(b'"5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a"',
                                b'"{5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a}"'), None),
}  # fmt: skip


@pytest.mark.parametrize("name", GOLDEN_NOT_SURE)
def test_unusual_messages_go_to_pydantic_and_get_todays_answer(name):
    payload, reason = GOLDEN_NOT_SURE[name]
    assert fast(payload) is None
    answer = old(payload)
    assert (answer.reason if isinstance(answer, Rejection) else None) is reason, answer
    assert_identical(new(payload), answer)


def test_a_topic_gateway_with_a_trailing_newline_is_not_taken_for_the_payloads():
    topic = "homevitals/v1/gateways/gw-0042\n/readings"
    payload = compact(EXAMPLE_BATCH)
    assert fast(payload, "gw-0042\n") is None
    assert_identical(new(payload, topic), old(payload, topic))


# -- property: generated and mutated messages ---------------------------------------------
class Raw:
    """A JSON number written exactly so (1e400, -0, 1E2), which json.dumps can't write."""

    def __init__(self, text: str) -> None:
        self.text = text


def dump(value: Any, *, seps: tuple[str, str], ascii_only: bool, twice: set[int]) -> str:
    """JSON text; an object whose id is in ``twice`` repeats its first key (a duplicate key)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, list):
        return "[" + seps[0].join(dump(v, seps=seps, ascii_only=ascii_only, twice=twice) for v in value) + "]"
    if isinstance(value, dict):
        items = list(value.items())
        if id(value) in twice and items:
            items.insert(1, items[0])
        return "{" + seps[0].join(
            json.dumps(k, ensure_ascii=ascii_only) + seps[1] + dump(v, seps=seps, ascii_only=ascii_only, twice=twice)
            for k, v in items
        ) + "}"
    return json.dumps(value, ensure_ascii=ascii_only)


# Mostly text a gateway sends (the fast path's), some any ASCII (quotes, backslashes, DEL), some any.
_gateway_text = st.text("abcXYZ019 -.&/:", max_size=70)
plain_text = (
    _gateway_text | _gateway_text | _gateway_text
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7F), max_size=70)
    | st.text(max_size=8)
)
numbers = (
    st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(0, 400) | st.sampled_from([Raw(t) for t in
      ["1e400", "-1e400", "-0", "-0.0", "1E2", "1.0", "1e0", "12345678901234567890123", "1.5e-7", "5e-324"]])
)  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | numbers | plain_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=4,
)


@st.composite
def timestamps(draw: st.DrawFn, *, utc: bool) -> str:
    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
    text = moment.replace(microsecond=0).isoformat()
    digits = draw(st.integers(0, 6))
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + (draw(st.sampled_from(["Z", "+00:00"])) if utc else "")


def _maybe(draw: st.DrawFn, target: dict[str, Any], key: str, values: st.SearchStrategy[Any]) -> None:
    """Leave ``key`` out, or set it to null or a drawn value."""
    choice = draw(st.integers(0, 2))
    if choice:
        target[key] = None if choice == 1 else draw(values)


# Any JSON number text (long mantissas, exponents): both parsers must round it alike.
number_texts = st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True).map(Raw)
measurement = (
    st.integers(-10, 400) | st.floats(allow_nan=False, allow_infinity=False) | st.floats(0, 300) | number_texts
)
KIND_VALUES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # kind: unit, required values, optional values
    "blood_pressure": ("mmHg", ("systolic", "diastolic", "mean_arterial_pressure"), ("pulse_rate",)),
    "weight": ("kg", ("weight",), ("bmi", "height")),
    "glucose": ("mmol/L", ("glucose",), ("sequence_number",)),
    "temperature": ("Cel", ("temperature",), ()),
    "pulse_oximetry": ("%", ("spo2",), ("pulse_rate",)),
}


@st.composite
def readings(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(KIND_VALUES)))
    unit, required, optional = KIND_VALUES[kind]
    values = {name: draw(st.none() | measurement) for name in required}
    for name in optional:
        _maybe(draw, values, name, st.integers(0, 65535) if name == "sequence_number" else measurement)
    hexdigits = st.text("0123456789abcdef", min_size=1, max_size=20).map(lambda t: t * 2)
    device: dict[str, Any] = {"address": draw(st.sampled_from(["A4:C1:38:00:11:22", "a4:c1:38:0a:bb:cc"]))}
    for name in ("serial", "manufacturer", "model", "firmware"):
        _maybe(draw, device, name, plain_text)
    r: dict[str, Any] = {
        "reading_id": str(draw(st.uuids())),
        "kind": kind,
        "device": device,
        "user_id": draw(st.none() | st.integers(0, 255)),
        "device_time": draw(st.none() | timestamps(utc=False)),
        "gateway_time": draw(timestamps(utc=True)),
        "measured_at": draw(timestamps(utc=True)),
        "time_source": draw(st.sampled_from(["device", "device_corrected", "gateway"])),
        "unit": unit,
        "values": values,
        "raw": {"uuid": draw(st.sampled_from(["2a35", "2a9d", "2a18"])), "hex": draw(hexdigits)},
    }
    _maybe(draw, r, "original_unit", plain_text)
    _maybe(draw, r, "battery_level", st.integers(0, 100))
    if draw(st.booleans()):
        r["invalid_values"] = draw(st.lists(plain_text, max_size=2))
    if kind == "blood_pressure":
        flags = st.fixed_dictionaries({
            "body_movement": st.booleans(), "cuff_fit_loose": st.booleans(), "irregular_pulse": st.booleans(),
            "pulse_rate_range": st.sampled_from(["in_range", "exceeds_upper", "below_lower", "reserved"]),
            "improper_position": st.booleans(),
        })  # fmt: skip
        _maybe(draw, r, "status", flags)
    elif kind == "glucose":
        _maybe(draw, r, "status", st.fixed_dictionaries({}, optional={
            "sample_type": st.none() | plain_text, "sample_location": st.none() | plain_text,
            "sensor_status": st.lists(plain_text, max_size=2),
        }))  # fmt: skip
    elif kind == "temperature":
        _maybe(draw, r, "status", st.fixed_dictionaries({}, optional={"temperature_type": st.none() | plain_text}))
    return r


def _objects(value: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(value, dict):
        found.append(value)
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found.extend(_objects(item))
    return found


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    message: dict[str, Any] = {
        "schema": "homevitals.readings.v1",
        "gateway_id": GATEWAY,
        "batch_seq": draw(st.integers(0, 2**63 - 1)),
        "sent_at": draw(timestamps(utc=True)),
        "readings": draw(st.lists(readings(), min_size=1, max_size=4)),
    }
    twice: set[int] = set()
    objects = _objects(message)
    for _ in range(draw(st.integers(0, 2))):  # mutations: mostly none or one
        target = draw(st.sampled_from(objects))
        action = draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
        keys = sorted(target)
        if action == "duplicate":
            twice.add(id(target))
        elif action == "add":
            target[draw(st.sampled_from(["extra", "kind", "status", "pulse_rate", "bmi"]))] = draw(json_values)
        elif keys and action == "delete":
            del target[draw(st.sampled_from(keys))]
        elif keys:
            key = draw(st.sampled_from(keys))
            timestamp_key = key.endswith(("_at", "_time"))
            target[key] = draw(timestamps(utc=draw(st.booleans())) if timestamp_key else json_values)
    seps = draw(st.sampled_from([(",", ":"), (",", ":"), (", ", ": "), (" , ", " : "), (",\n", ":\t")]))
    return dump(message, seps=seps, ascii_only=draw(st.booleans()), twice=twice).encode()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_the_fast_path_is_never_wrong_and_the_public_answer_never_changes(payload):
    authority = old(payload)
    accepted = fast(payload)
    if accepted is not None:
        assert isinstance(authority, ValidBatch), authority
        assert_identical(accepted, authority)
    assert_identical(new(payload), authority)


# -- the fast path's structs mirror the contract's models -----------------------------------
def _mirrors() -> list[tuple[type[BaseModel], type[msgspec.Struct]]]:
    from homevitals.contract import models as m
    from ingest import fast_validation as f

    return [
        (m.ReadingsBatch, f._Batch), (m.DeviceInfo, f._Device), (m.RawValue, f._Raw),
        (m.BloodPressureReading, f._BloodPressureReading), (m.WeightReading, f._WeightReading),
        (m.GlucoseReading, f._GlucoseReading), (m.TemperatureReading, f._TemperatureReading),
        (m.PulseOximetryReading, f._PulseOximetryReading),
        (m.BloodPressureValues, f._BloodPressureValues), (m.WeightValues, f._WeightValues),
        (m.GlucoseValues, f._GlucoseValues), (m.TemperatureValues, f._TemperatureValues),
        (m.PulseOximetryValues, f._PulseOximetryValues),
        (m.BloodPressureStatus, f._BloodPressureStatus), (m.GlucoseStatus, f._GlucoseStatus),
        (m.TemperatureStatus, f._TemperatureStatus),
    ]  # fmt: skip


@pytest.mark.parametrize(("model", "struct"), _mirrors(), ids=lambda t: t.__name__)
def test_each_struct_has_its_models_keys_required_alike(model, struct):
    # A field added to a model and not here sends every message to the pydantic path (safe,
    # slow); a constraint changed in one and not the other is what the property test is for.
    # values are written in field order, so their order must be the model's.
    wire = {(info.alias or name): info.is_required() for name, info in model.model_fields.items()}
    fields = {f.encode_name: f.required for f in msgspec.structs.fields(struct)}
    if struct.__struct_config__.tag_field is not None:
        fields[struct.__struct_config__.tag_field] = True
    assert fields == wire
    if model.__name__.endswith("Values"):
        assert list(struct.__struct_fields__) == list(model.model_fields)


def test_every_kind_has_a_fast_path():
    from ingest.fast_validation import _KIND_OF

    assert sorted(_KIND_OF.values()) == sorted(Kind)
    assert {s.__struct_config__.tag for s in _KIND_OF} == {str(k) for k in Kind}
