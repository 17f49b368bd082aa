"""The FHIR search's fast path writes exactly what the fhir.resources models would (golden).

``serialised`` skips constructing and validating ~50 Observation models per page; these tests
build pages from generated reading rows (every kind, missing and invalid values, device
status flags, implausible and clock flags, odd microseconds, non-ASCII text) and demand the
same bytes as ``validated``, the model path the API used before, which also proves every
page is valid FHIR.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.fhir.resources import observations_for_reading, searchset, serialised, validated
from api.fhir.search import ALL_TYPES
from homevitals.contract.kinds import KINDS

pytestmark = pytest.mark.unit

METRICS = ("systolic", "diastolic", "mean_arterial_pressure", "pulse_rate", "value")
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
measurements = st.none() | st.floats(min_value=0, max_value=400, allow_nan=False) | st.integers(0, 300)
reasons = st.lists(st.text(min_size=1, max_size=12), max_size=2)
status = st.none() | st.dictionaries(
    st.sampled_from(["body_movement", "cuff_fit", "irregular_pulse", "position"]),
    st.booleans() | st.sampled_from(["loose", "ok", "improper"]) | st.integers(0, 3),
    max_size=3,
)


@st.composite
def reading_rows(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "reading_id": UUID(int=draw(st.integers(0, 2**128 - 1))),
        "kind": draw(st.sampled_from(sorted(KINDS))),
        "citizen_id": draw(st.integers(1, 2**40)),
        "device_id": draw(st.integers(1, 2**40)),
        "measured_at": draw(instants),
        "received_at": draw(instants),
        "time_source": draw(st.sampled_from(["device", "gateway", "corrected"])),
        "status": draw(status),
        "implausible": draw(st.booleans()),
        "implausible_reasons": draw(reasons),
        "clock_in_future": draw(st.booleans()),
        "invalid_values": draw(st.lists(st.sampled_from([*METRICS[:4], "weight", "spo2"]), max_size=3)),
        **{metric: draw(measurements) for metric in METRICS},
    }


def _page(rows: list[dict[str, Any]], wanted: list[str], timestamp: datetime, next_url: str | None):
    entries = [obs for row in rows for obs in observations_for_reading(row, wanted)]
    return searchset(
        entries,
        base="https://hub.example.dk",
        self_url="https://hub.example.dk/fhir/Observation?patient=7",
        next_url=next_url,
        timestamp=timestamp,
    )


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(reading_rows(), max_size=12),
    wanted=st.lists(st.sampled_from(ALL_TYPES), min_size=1, unique=True),
    timestamp=instants,
    next_url=st.none() | st.just("https://hub.example.dk/fhir/Observation?patient=7&_cursor=abc"),
)
def test_a_searchset_page_is_byte_for_byte_the_model_path(rows, wanted, timestamp, next_url):
    bundle = _page(rows, wanted, timestamp, next_url)
    assert serialised(bundle) == validated(bundle)


@settings(max_examples=150, deadline=None)
@given(row=reading_rows())
def test_each_observation_read_is_byte_for_byte_the_model_path(row):
    for observation in observations_for_reading(row, ALL_TYPES):
        assert serialised(observation) == validated(observation)


def test_a_full_page_of_blood_pressure_with_flags_is_the_model_path():
    """The benchmark's page: 25 readings yielding BP and heart rate, some flagged."""
    at = datetime(2026, 12, 7, 7, 0, 0, 123456, tzinfo=UTC)
    rows = [
        {
            "reading_id": UUID(int=i), "kind": "blood_pressure", "citizen_id": 3, "device_id": 4,
            "measured_at": at - timedelta(hours=i), "received_at": at, "time_source": "device",
            "systolic": 120.0 + i, "diastolic": 80.5, "mean_arterial_pressure": 93.3333,
            "pulse_rate": 70.0 if i % 3 else None, "value": None,
            "status": {"body_movement": True, "cuff_fit": "loose"} if i % 2 else None,
            "invalid_values": [] if i % 5 else ["pulse_rate"], "implausible": i % 7 == 0,
            "implausible_reasons": ["systolic ≥ 300"] if i % 7 == 0 else [], "clock_in_future": i == 4,
        }
        for i in range(25)
    ]
    bundle = _page(rows, ALL_TYPES, at, None)
    fast = serialised(bundle)
    assert fast == validated(bundle)
    assert len(json.loads(fast)["entry"]) == 25 + sum(1 for i in range(25) if i % 3 or i % 5 == 0)


def test_instants_other_than_utc_keep_their_offset_as_the_models_do():
    row = _row_at(datetime(2026, 3, 29, 1, 59, 59, tzinfo=timezone(timedelta(hours=2))))
    for observation in observations_for_reading(row, ALL_TYPES):
        assert serialised(observation) == validated(observation)
        assert observation["effectiveDateTime"].endswith("+02:00")


def _row_at(at: datetime) -> dict[str, Any]:
    return {
        "reading_id": UUID(int=1), "kind": "weight", "citizen_id": 1, "device_id": 1, "measured_at": at,
        "received_at": at, "time_source": "device", "status": None, "implausible": False,
        "implausible_reasons": [], "clock_in_future": False, "invalid_values": [], "systolic": None,
        "diastolic": None, "mean_arterial_pressure": None, "pulse_rate": None, "value": 81.25,
    }
