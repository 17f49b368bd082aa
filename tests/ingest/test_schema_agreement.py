"""Ingest's validator and the published JSON Schema give the same verdict (issue 18).

Documents are a valid batch with one field replaced by arbitrary JSON or by a timestamp
from either side of the schema's patterns, so both sides of the line are explored.
(hypothesis-jsonschema would generate from the schema itself, but 0.23 fails on current
Hypothesis internals.)
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homevitals.contract.example import EXAMPLE_BATCH
from ingest.validation import RejectReason, ValidBatch, validate_message

pytestmark = pytest.mark.unit

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/contract/readings.v1.schema.json").read_text()
)
# For JSON Schema 0.0 is an integer; the contract (docs/contract.md, "Limits") asks integers
# to be written as integers, and the hub refuses 0.0. The schema's verdict is taken with
# that documented rule, so the test compares everything else.
_STRICT_INTEGERS = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
)
_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_STRICT_INTEGERS)
VALIDATOR = _Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
SCHEMA_VERDICTS = {RejectReason.SCHEMA_VIOLATION, RejectReason.UNKNOWN_SCHEMA, RejectReason.INVALID_JSON}


def ingest_accepts(document: Any) -> bool:
    gateway = document.get("gateway_id") if isinstance(document, dict) else None
    topic_gateway = gateway if isinstance(gateway, str) and gateway.isascii() else "gw-0042"
    payload = json.dumps(document).encode()
    outcome = validate_message(
        f"homevitals/v1/gateways/{topic_gateway}/readings", payload,
        now=NOW, future_tolerance=timedelta(minutes=5), max_payload_bytes=1 << 24,
    )
    if isinstance(outcome, ValidBatch):
        return True
    assert outcome.reason in SCHEMA_VERDICTS | {RejectReason.INVALID_TOPIC, RejectReason.GATEWAY_MISMATCH}
    return outcome.reason not in SCHEMA_VERDICTS and not _topic_only(outcome.reason)


def _topic_only(reason: RejectReason) -> bool:
    # The topic is not part of the document: a gateway_id the topic can't carry is judged
    # by the schema alone.
    return reason in {RejectReason.INVALID_TOPIC, RejectReason.GATEWAY_MISMATCH}


def schema_accepts(document: Any) -> bool:
    return VALIDATOR.is_valid(document)


def storable(document: Any) -> bool:
    # PostgreSQL text cannot hold U+0000: ingest refuses it, documented in docs/contract.md.
    return "\\u0000" not in json.dumps(document)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
timestamp_texts = st.sampled_from([
    "2026-11-29T08:58:00Z", "2026-11-29T08:58:00+00:00", "2026-11-29T08:58:00.5Z",
    "2026-11-29 08:58:00Z", "2026-11-29T08:58:00z", "2026-11-29T08:58:00-00:00",
    "2026-11-29T08:58:00+01:00", "2026-11-29T08:58:00", "2026-02-30T08:58:00Z", "2026-11-29T08:58:00.1234567Z",
])
FIELDS = [
    ("sent_at",), ("batch_seq",), ("schema",), ("readings", 0, "measured_at"), ("readings", 0, "gateway_time"),
    ("readings", 0, "device_time"), ("readings", 0, "values", "systolic"), ("readings", 0, "unit"),
    ("readings", 0, "user_id"), ("readings", 0, "device", "address"), ("readings", 0, "raw", "hex"),
    ("readings", 0, "time_source"), ("readings", 0, "kind"), ("readings", 0, "reading_id"),
]


@st.composite
def mutated_batches(draw: st.DrawFn) -> dict[str, Any]:
    document = copy.deepcopy(EXAMPLE_BATCH)
    path = draw(st.sampled_from(FIELDS))
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = draw(timestamp_texts if path[-1].endswith(("_at", "_time")) else json_values)
    return document


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_batches())
def test_mutated_batches_get_the_schemas_verdict(document):
    if storable(document):
        assert ingest_accepts(document) == schema_accepts(document), json.dumps(document)[:2000]
