"""MQTT contract v1: the models, the committed JSON Schema and the reading_id derivation."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from homevitals.contract import READING_ID_NAMESPACE, ReadingsBatch, derive_reading_id, reading_id_name
from homevitals.contract.example import EXAMPLE_BATCH
from homevitals.contract.schema import SCHEMA_PATH, render_readings_schema

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def validator(repo_root) -> jsonschema.Draft202012Validator:
    schema = json.loads((repo_root / SCHEMA_PATH).read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_committed_schema_matches_the_models(repo_root):
    committed = (repo_root / SCHEMA_PATH).read_text()
    assert committed == render_readings_schema(), (
        "docs/contract/readings.v1.schema.json drifted from homevitals/contract/models.py; "
        "regenerate it with: .venv/bin/python -m homevitals.contract.schema"
    )


def test_design_example_is_accepted_by_schema_and_models(validator):
    validator.validate(EXAMPLE_BATCH)
    batch = ReadingsBatch.model_validate_json(json.dumps(EXAMPLE_BATCH))
    assert batch.readings[0].values.systolic == 128  # type: ignore[union-attr]
    # Serialising and reading back gives the same model, and still validates.
    again = json.loads(batch.to_json_bytes())
    validator.validate(again)
    assert ReadingsBatch.model_validate_json(json.dumps(again)) == batch


def _mutate(path: tuple[Any, ...], value: Any = ..., delete: bool = False) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE_BATCH)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


R = ("readings", 0)
MALFORMED = {
    "unknown schema version": _mutate(("schema",), "homevitals.readings.v2"),
    "gateway id with capitals": _mutate(("gateway_id",), "GW-0042"),
    "gateway id too short": _mutate(("gateway_id",), "gw"),
    "negative batch_seq": _mutate(("batch_seq",), -1),
    "batch_seq as string": _mutate(("batch_seq",), "1234"),
    "sent_at without zone": _mutate(("sent_at",), "2026-11-29T10:00:03"),
    "sent_at in another zone": _mutate(("sent_at",), "2026-11-29T11:00:03+01:00"),
    "no readings": _mutate(("readings",), []),
    "missing readings": _mutate(("readings",), delete=True),
    "unknown top-level field": _mutate(("extra",), 1),
    "reading_id not a uuid": _mutate((*R, "reading_id"), "not-a-uuid"),
    "unknown kind": _mutate((*R, "kind"), "cholesterol"),
    "blood pressure in kPa": _mutate((*R, "unit"), "kPa"),
    "systolic as string": _mutate((*R, "values", "systolic"), "128"),
    "missing values": _mutate((*R, "values"), delete=True),
    "user_id out of range": _mutate((*R, "user_id"), 256),
    "device address malformed": _mutate((*R, "device", "address"), "A4-C1-38-00-11-22"),
    "device_time with zone": _mutate((*R, "device_time"), "2026-11-29T09:58:00Z"),
    "unknown time_source": _mutate((*R, "time_source"), "ntp"),
    "raw hex odd length": _mutate((*R, "raw", "hex"), "1e8"),
    "raw uuid 128-bit": _mutate((*R, "raw", "uuid"), "00002a35-0000-1000-8000-00805f9b34fb"),
    "pulse range unknown": _mutate((*R, "status", "pulse_rate_range"), "high"),
    "measured_at missing": _mutate((*R, "measured_at"), delete=True),
}


@pytest.mark.parametrize("variant", sorted(MALFORMED), ids=lambda v: v.replace(" ", "-"))
def test_schema_and_models_reject_malformed_variant(variant, validator):
    doc = MALFORMED[variant]
    assert not validator.is_valid(doc), f"schema accepted: {variant}"
    with pytest.raises(ValidationError):
        ReadingsBatch.model_validate_json(json.dumps(doc))


def test_reading_id_name_has_the_documented_bytes():
    name = reading_id_name(
        address="a4:c1:38:00:11:22",
        user_id=1,
        device_time=datetime(2026, 11, 29, 9, 58, 0),
        gateway_first_seen=datetime(2026, 11, 29, 8, 58, 4, 512000, tzinfo=UTC),
        characteristic_uuid=0x2A35,
        raw=bytes.fromhex("1e800052006100ea070b1d093a004000010000"),
    )
    assert name == "v1|A4:C1:38:00:11:22|1|d:2026-11-29T09:58:00|2a35|1e800052006100ea070b1d093a004000010000"


def test_reading_id_golden_value_and_namespace():
    assert READING_ID_NAMESPACE == uuid.uuid5(uuid.NAMESPACE_URL, "https://homevitals.dk/ns/reading-id/v1")
    rid = derive_reading_id(
        address="A4:C1:38:00:11:22",
        user_id=1,
        device_time=datetime(2026, 11, 29, 9, 58, 0),
        gateway_first_seen=datetime(2026, 11, 29, 8, 58, 4, tzinfo=UTC),
        characteristic_uuid=0x2A35,
        raw=bytes.fromhex("1e800052006100ea070b1d093a004000010000"),
    )
    # Golden value: any change to the derivation breaks every stored id, so it is pinned.
    assert rid == uuid.UUID("851e2ae4-13b6-5a23-a830-c05499c871c8")
    assert rid.version == 5


def test_reading_id_ignores_gateway_time_when_device_time_is_known():
    common = dict(address="A4:C1:38:00:11:22", user_id=2, device_time=datetime(2026, 1, 1, 7, 0),
                  characteristic_uuid=0x2A35, raw=b"\x00\x01")
    first = derive_reading_id(gateway_first_seen=datetime(2026, 1, 1, 6, 0, tzinfo=UTC), **common)
    later = derive_reading_id(gateway_first_seen=datetime(2026, 1, 9, 6, 0, tzinfo=UTC), **common)
    other_user = derive_reading_id(gateway_first_seen=datetime(2026, 1, 1, 6, 0, tzinfo=UTC),
                                   **{**common, "user_id": 3})
    assert first == later
    assert first != other_user


def test_reading_id_without_device_clock_uses_gateway_time():
    name = reading_id_name(address="A4:C1:38:00:11:22", user_id=None, device_time=None,
                           gateway_first_seen=datetime(2026, 1, 1, 6, 0, 0, 5, tzinfo=UTC),
                           characteristic_uuid=0x2A9D, raw=b"\x00")
    assert name == "v1|A4:C1:38:00:11:22|-|g:2026-01-01T06:00:00.000005Z|2a9d|00"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"address": "A4C138001122"}, "not a Bluetooth address"),
    ({"device_time": datetime(2026, 1, 1, tzinfo=UTC)}, "naive"),
    ({"device_time": None, "gateway_first_seen": datetime(2026, 1, 1)}, "timezone-aware"),
])
def test_reading_id_rejects_ambiguous_input(kwargs, message):
    args = dict(address="A4:C1:38:00:11:22", user_id=1, device_time=datetime(2026, 1, 1),
                gateway_first_seen=datetime(2026, 1, 1, tzinfo=UTC), characteristic_uuid=0x2A35, raw=b"")
    with pytest.raises(ValueError, match=message):
        reading_id_name(**{**args, **kwargs})


@pytest.mark.parametrize(("topic", "channel", "expected"), [
    ("homevitals/v1/gateways/gw-0042/readings", "readings", "gw-0042"),
    ("homevitals/v1/gateways/gw-0042/status", "status", "gw-0042"),
    ("homevitals/v1/gateways/gw-0042/status", "readings", None),
    ("homevitals/v1/gateways/GW-0042/readings", "readings", None),
    ("homevitals/v1/gateways/a/b/readings", "readings", None),
    ("homevitals/v2/gateways/gw-0042/readings", "readings", None),
])
def test_gateway_id_from_topic(topic, channel, expected):
    from homevitals.contract import gateway_id_from_topic

    assert gateway_id_from_topic(topic, channel) == expected
