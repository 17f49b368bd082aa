"""Contract v1, hub -> gateway: the commit acknowledgement model and its committed JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from pydantic import ValidationError

from homevitals.contract.acks import AckOutcome, HubAck, acks_topic, is_acks_topic_for
from homevitals.contract.schema import ACKS_SCHEMA_PATH, render_acks_schema

pytestmark = pytest.mark.unit

# The wire form, byte for byte: a gateway written in another language can test against it.
GOLDEN_ACK = (
    b'{"schema":"homevitals.acks.v1","gateway_id":"gw-0042","batch_seq":1234,"outcome":"committed",'
    b'"reading_ids":["5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a"],"reason":null,"detail":null,'
    b'"acked_at":"2026-11-29T10:00:03.250000Z"}'
)


@pytest.fixture(scope="module")
def validator(repo_root) -> jsonschema.Draft202012Validator:
    schema = json.loads((repo_root / ACKS_SCHEMA_PATH).read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_committed_acks_schema_matches_the_model(repo_root):
    assert (repo_root / ACKS_SCHEMA_PATH).read_text() == render_acks_schema(), (
        "docs/contract/acks.v1.schema.json drifted from homevitals/contract/acks.py; "
        "regenerate it with: .venv/bin/python -m homevitals.contract.schema"
    )


def test_built_ack_serialises_to_the_golden_bytes_and_validates(validator):
    ack = HubAck.build(
        gateway_id="gw-0042",
        batch_seq=1234,
        outcome=AckOutcome.COMMITTED,
        reading_ids=["5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a"],
        acked_at=datetime(2026, 11, 29, 10, 0, 3, 250000, tzinfo=UTC),
    )
    assert ack.to_json_bytes() == GOLDEN_ACK
    validator.validate(json.loads(GOLDEN_ACK))
    assert HubAck.model_validate_json(GOLDEN_ACK) == ack


def test_covers_means_the_same_set_of_reading_ids():
    ack = HubAck.model_validate_json(GOLDEN_ACK)
    assert ack.covers(["5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a"])
    assert not ack.covers([])
    assert not ack.covers(["5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a", "00000000-0000-5000-8000-000000000000"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("schema", "homevitals.acks.v2"),
        ("outcome", "stored"),
        ("batch_seq", "1234"),
        ("gateway_id", "GW 42"),
        ("acked_at", "2026-11-29T11:00:03+01:00"),
        ("reading_ids", ["not-a-uuid"]),
    ],
)
def test_schema_and_model_refuse_a_malformed_ack(field, value, validator):
    doc = json.loads(GOLDEN_ACK)
    doc[field] = value
    assert not validator.is_valid(doc)
    with pytest.raises(ValidationError):
        HubAck.model_validate_json(json.dumps(doc))


def test_acks_topic_is_the_gateways_own():
    assert acks_topic("gw-0042") == "homevitals/v1/gateways/gw-0042/acks"
    assert is_acks_topic_for("homevitals/v1/gateways/gw-0042/acks", "gw-0042")
    assert not is_acks_topic_for("homevitals/v1/gateways/gw-0043/acks", "gw-0042")
