"""Which FHIR Observations a reading row yields, as the kind registry says (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.fhir.resources import observations_for_reading, validated
from api.fhir.search import ALL_TYPES

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 29, 8, 58, tzinfo=UTC)


def _row(kind: str, **columns: Any) -> dict[str, Any]:
    return {
        "reading_id": "851e2ae4-13b6-5a23-a830-c05499c871c8", "kind": kind, "citizen_id": 7,
        "device_id": 3, "measured_at": AT, "received_at": AT, "time_source": "device",
        "status": None, "implausible": False, "implausible_reasons": [], "clock_in_future": False,
        "invalid_values": [], "systolic": None, "diastolic": None, "mean_arterial_pressure": None,
        "pulse_rate": None, "value": None, **columns,
    }


def _codes(resource: dict[str, Any]) -> list[str]:
    return [c["code"]["coding"][0]["code"] for c in resource["component"]]


def test_blood_pressure_without_mean_or_pulse():
    [bp] = observations_for_reading(_row("blood_pressure", systolic=128, diastolic=82), ALL_TYPES)
    assert bp["id"].startswith("bp-")
    assert _codes(bp) == ["8480-6", "8462-4"]  # the mean is optional: left out, not absent
    assert bp["component"][0]["valueQuantity"] == {
        "value": 128.0, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"
    }
    validated(bp)


def test_failed_blood_pressure_names_every_required_component_absent_and_the_pulse_invalid():
    row = _row("blood_pressure", invalid_values=["systolic", "diastolic", "pulse_rate"])
    bp, hr = observations_for_reading(row, ALL_TYPES)
    assert _codes(bp) == ["8480-6", "8462-4"]
    assert all("dataAbsentReason" in c for c in bp["component"])
    assert hr["id"].startswith("hr-") and "dataAbsentReason" in hr


def test_pulse_oximetry_yields_heart_rate_then_saturation_from_the_main_value():
    hr, spo2 = observations_for_reading(_row("pulse_oximetry", pulse_rate=64, value=97), ALL_TYPES)
    assert hr["valueQuantity"]["value"] == 64.0 and hr["valueQuantity"]["code"] == "/min"
    assert spo2["valueQuantity"] == {
        "value": 97.0, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"
    }
    assert [c["code"] for c in spo2["code"]["coding"]] == ["2708-6", "59408-5"]
    assert observations_for_reading(_row("pulse_oximetry", value=97), ["hr"]) == []


def test_temperature_is_always_exported_and_glucose_not_yet():
    [temp] = observations_for_reading(_row("temperature"), ALL_TYPES)
    assert temp["code"]["coding"][0]["code"] == "8310-5" and "dataAbsentReason" in temp
    assert observations_for_reading(_row("glucose", value=6.5), ALL_TYPES) == []
