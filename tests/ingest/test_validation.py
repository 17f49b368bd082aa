"""Validation against contract v1: pure, no I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from homevitals.contract import Kind
from homevitals.contract.kinds import KINDS
from ingest.limits import implausible_reasons
from ingest.validation import (
    Rejection,
    RejectReason,
    StatusReport,
    ValidBatch,
    validate_message,
)
from tests.ingest.helpers import batch, encode, reading

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TOPIC = "homevitals/v1/gateways/gw-0042/readings"


def check(payload: bytes, topic: str = TOPIC, max_payload_bytes: int = 1 << 20):
    return validate_message(
        topic, payload, now=NOW, future_tolerance=timedelta(minutes=5), max_payload_bytes=max_payload_bytes
    )


def rejected(outcome: object) -> RejectReason:
    assert isinstance(outcome, Rejection), outcome
    return outcome.reason


def test_a_valid_batch_becomes_rows_with_canonical_columns():
    r = reading(measured_at=NOW - timedelta(hours=1), address="a4:c1:38:00:11:22", battery=77)
    outcome = check(encode(batch("gw-0042", [r], batch_seq=7)))
    assert isinstance(outcome, ValidBatch)
    assert outcome.gateway_id == "gw-0042" and outcome.batch_seq == 7
    row = outcome.readings[0]
    assert str(row.reading_id) == r["reading_id"]
    assert row.address == "A4:C1:38:00:11:22"  # normalised: the devices table stores upper case
    assert (row.systolic, row.diastolic, row.mean_arterial_pressure, row.pulse_rate) == (128, 82, 97, 64)
    assert row.value is None and row.kind == "blood_pressure" and row.unit == "mmHg"
    assert json.loads(row.values_json)["systolic"] == 128
    assert json.loads(row.status_json or "{}")["pulse_rate_range"] == "in_range"
    assert row.raw == bytes.fromhex(r["raw"]["hex"]) and row.raw_uuid == "2a35"
    assert row.battery_level == 77 and row.serial == "5081234" and row.model == "UA-651BLE"
    assert not row.implausible and not row.clock_in_future


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", RejectReason.INVALID_JSON),
        (b"\xff\xfe", RejectReason.INVALID_JSON),
        (b"[]", RejectReason.SCHEMA_VIOLATION),
        (b"{}", RejectReason.SCHEMA_VIOLATION),
    ],
)
def test_unparseable_payloads_are_rejected_with_a_reason(payload, reason):
    assert rejected(check(payload)) is reason


def test_a_string_where_a_number_belongs_is_a_schema_violation():
    message = batch("gw-0042", [reading()])
    message["readings"][0]["values"]["systolic"] = "128"
    outcome = check(encode(message))
    assert rejected(outcome) is RejectReason.SCHEMA_VIOLATION
    assert "systolic" in outcome.detail


def test_an_unknown_schema_version_is_rejected_as_such():
    message = batch("gw-0042", [reading()])
    message["schema"] = "homevitals.readings.v2"
    message["readings"][0]["new_field"] = 1
    outcome = check(encode(message))
    assert rejected(outcome) is RejectReason.UNKNOWN_SCHEMA
    assert "homevitals.readings.v1" in outcome.detail


def test_a_gateway_cannot_speak_for_another():
    outcome = check(encode(batch("gw-0042", [reading()])), topic="homevitals/v1/gateways/gw-0099/readings")
    assert rejected(outcome) is RejectReason.GATEWAY_MISMATCH
    assert outcome.gateway_id == "gw-0099"


@pytest.mark.parametrize("topic", ["homevitals/v1/gateways/GW_BAD/readings", "elsewhere/readings"])
def test_topics_outside_contract_v1_are_rejected(topic):
    assert rejected(check(encode(batch("gw-0042", [reading()])), topic=topic)) is RejectReason.INVALID_TOPIC


def test_oversized_payloads_are_rejected_before_parsing():
    assert (
        rejected(check(b"{" + b" " * 5000 + b"}", max_payload_bytes=4096)) is RejectReason.PAYLOAD_TOO_LARGE
    )


def test_nul_characters_postgresql_cannot_store_are_rejected():
    message = batch("gw-0042", [reading()])
    message["readings"][0]["device"]["serial"] = "50\u00001"
    assert rejected(check(encode(message))) is RejectReason.SCHEMA_VIOLATION


def test_implausible_values_are_kept_and_flagged_with_reasons():
    r = reading(systolic=320, diastolic=15, pulse=64)
    outcome = check(encode(batch("gw-0042", [r])))
    assert isinstance(outcome, ValidBatch)
    row = outcome.readings[0]
    assert row.implausible
    assert row.implausible_reasons == ["systolic_high", "diastolic_low"]
    assert row.systolic == 320  # stored as measured, left out of reports


def test_an_inverted_blood_pressure_is_implausible_and_nulls_are_not():
    inverted = reading(systolic=80, diastolic=90)
    missing = reading(systolic=None, diastolic=None, pulse=None)
    outcome = check(encode(batch("gw-0042", [inverted, missing])))
    assert isinstance(outcome, ValidBatch)
    assert outcome.readings[0].implausible_reasons == ["systolic_not_above_diastolic"]
    assert not outcome.readings[1].implausible


def test_a_value_beyond_a_real_column_is_kept_in_values_only():
    outcome = check(encode(batch("gw-0042", [reading(systolic=1e39)])))
    assert isinstance(outcome, ValidBatch)
    row = outcome.readings[0]
    assert row.systolic is None and row.implausible
    assert json.loads(row.values_json)["systolic"] == 1e39


def test_a_measurement_more_than_five_minutes_ahead_is_flagged_not_rejected():
    ahead = reading(measured_at=NOW + timedelta(minutes=6))
    almost = reading(measured_at=NOW + timedelta(minutes=4))
    outcome = check(encode(batch("gw-0042", [ahead, almost])))
    assert isinstance(outcome, ValidBatch)
    assert [r.clock_in_future for r in outcome.readings] == [True, False]


def test_status_messages_and_the_last_will_validate():
    topic = "homevitals/v1/gateways/gw-0042/status"
    online = check(
        json.dumps(
            {
                "state": "online",
                "version": "1.0",
                "outbox_depth": 3,
                "devices": [{"address": "A4:C1:38:00:11:22", "battery": 55}],
            }
        ).encode(),
        topic,
    )
    will = check(b'{"state":"offline"}', topic)
    assert isinstance(online, StatusReport) and online.status.outbox_depth == 3
    assert isinstance(will, StatusReport) and will.status.state == "offline"
    assert rejected(check(b'{"state":"sleeping"}', topic)) is RejectReason.INVALID_STATUS
    assert rejected(check(b"nope", topic)) is RejectReason.INVALID_STATUS


@pytest.mark.parametrize(
    ("kind", "values", "reasons"),
    [
        (
            Kind.BLOOD_PRESSURE,
            {"systolic": 40, "diastolic": 20, "pulse_rate": 250},
            [],
        ),
        (
            Kind.BLOOD_PRESSURE,
            {"systolic": 39.9, "diastolic": 20, "pulse_rate": 251},
            ["systolic_low", "pulse_rate_high"],
        ),
        (Kind.BLOOD_PRESSURE, {"systolic": 300, "diastolic": 200, "pulse_rate": 20}, []),
        (Kind.WEIGHT, {"weight": 0.3}, ["weight_low"]),
        (Kind.WEIGHT, {"weight": 82.5, "bmi": 26.1}, []),
        (Kind.GLUCOSE, {"glucose": 55}, ["glucose_high"]),
        (Kind.TEMPERATURE, {"temperature": 46}, ["temperature_high"]),
        (Kind.TEMPERATURE, {"temperature": 36.6}, []),
        (Kind.PULSE_OXIMETRY, {"spo2": 101, "pulse_rate": 60}, ["spo2_high"]),
        (Kind.PULSE_OXIMETRY, {"spo2": 49, "pulse_rate": 19}, ["spo2_low", "pulse_rate_low"]),
    ],
)
def test_physiological_limits_are_inclusive_ranges(kind, values, reasons):
    assert implausible_reasons(kind, values) == reasons


def test_every_kind_has_limits_and_the_bp_limits_are_the_documented_ones():
    assert all(KINDS[kind].limits for kind in Kind)
    bp = KINDS[Kind.BLOOD_PRESSURE].limits
    assert (bp["systolic"].low, bp["systolic"].high) == (40, 300)
    assert (bp["diastolic"].low, bp["diastolic"].high) == (20, 200)
    assert (bp["pulse_rate"].low, bp["pulse_rate"].high) == (20, 250)


# Issue 18: ingest holds the published JSON Schema's line exactly.
@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("measured_at", "2026-11-29 08:58:00Z"),  # space instead of T
        ("measured_at", "2026-11-29T08:58:00z"),  # lower-case z
        ("measured_at", "2026-11-29T08:58:00-00:00"),  # RFC 3339 "unknown offset"
        ("gateway_time", "2026-11-29T08:58:00.1234567Z"),  # more than 6 fraction digits
        ("device_time", "2026-11-29 09:58:00"),
    ],
)
def test_timestamps_the_schema_refuses_are_refused(field, text):
    message = batch("gw-0042", [reading()])
    message["readings"][0][field] = text
    outcome = check(encode(message))
    assert rejected(outcome) is RejectReason.SCHEMA_VIOLATION
    assert field in outcome.detail


def test_timestamps_the_schema_allows_are_accepted():
    message = batch("gw-0042", [reading()])
    message["readings"][0]["measured_at"] = "2026-11-29T08:58:00+00:00"
    message["readings"][0]["gateway_time"] = "2026-11-29T08:58:04.512345Z"
    assert isinstance(check(encode(message)), ValidBatch)


def test_a_duplicate_json_key_is_refused_not_last_wins():
    payload = encode(batch("gw-0042", [reading(systolic=120)]))
    assert payload.count(b'"systolic": 120') == 1 or payload.count(b'"systolic":120') == 1
    doubled = payload.replace(b'"systolic": 120', b'"systolic": 120, "systolic": 300').replace(
        b'"systolic":120', b'"systolic":120,"systolic":300')
    assert doubled != payload
    outcome = check(doubled)
    assert rejected(outcome) is RejectReason.INVALID_JSON
    assert "duplicate key 'systolic'" in outcome.detail


def _compact(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("original", "doubled", "key"),
    [
        # A repeat at each level of the message, compact (as gateways send it)...
        (b'"batch_seq":1,', b'"batch_seq":1,"batch_seq":2,', "batch_seq"),
        (b'"model":"UA-651BLE"', b'"model":"UA-651BLE","model":"X"', "model"),
        (b'"uuid":"2a35"', b'"uuid":"2a35","uuid":"2a35"', "uuid"),
        (b'"body_movement":false', b'"body_movement":false,"body_movement":true', "body_movement"),
        (b'"user_id":1', b'"user_id":1,"user_id":2', "user_id"),
        # ...a repeat whose colon is spaced from its key, which a plain count of '":' misses...
        (b'"user_id":1', b'"user_id":1,"user_id" :2', "user_id"),
        (b'"user_id":1', b'"user_id"\n:1,"user_id":2', "user_id"),
        # ...and one beside a value holding an escaped quote and a colon, which looks like a key.
        (b'"firmware":"1.2"', b'"firmware":"1.2\\":","firmware":"1.3"', "firmware"),
    ],
)
def test_a_repeated_key_is_found_at_every_level_however_it_is_spaced(original, doubled, key):
    r = reading()
    r["device"]["firmware"] = "1.2"
    payload = _compact(batch("gw-0042", [r, reading()], batch_seq=1))
    assert isinstance(check(payload), ValidBatch)
    assert original in payload
    outcome = check(payload.replace(original, doubled, 1))
    assert rejected(outcome) is RejectReason.INVALID_JSON, outcome
    assert f"duplicate key {key!r}" in outcome.detail


def test_keys_spaced_from_colons_and_quoted_colons_in_values_are_not_repeats():
    r = reading()
    r["device"]["serial"] = 'say "a":b'  # an escaped quote, then a colon, inside a value
    payload = json.dumps(batch("gw-0042", [r]), separators=(" , ", " : ")).encode()
    outcome = check(payload)
    assert isinstance(outcome, ValidBatch), outcome
    assert outcome.readings[0].serial == 'say "a":b'


def test_an_escaped_backslash_before_u0000_is_legal_text():
    message = batch("gw-0042", [reading()])
    message["readings"][0]["device"]["serial"] = "a\\u0000b"  # backslash, then the letters u0000
    payload = encode(message)
    assert b"a\\\\u0000b" in payload
    outcome = check(payload)
    assert isinstance(outcome, ValidBatch), outcome
    assert outcome.readings[0].serial == "a\\u0000b"
