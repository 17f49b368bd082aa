"""The reading-kind registry is complete: a place forgotten when adding a kind fails here.

docs/adding-a-kind.md lists the places; this test holds each of them to the registry
(homevitals/contract/kinds.py): the contract's JSON Schema, the GATT library, the gateway's
readings, FHIR, and the words the web app and the dashboards show.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dashboards.i18n import TEXTS as DASHBOARD_TEXTS
from gateway.readings import MEASUREMENT_UUIDS, DeviceIdentity, build_reading
from gatt import (
    BloodPressureMeasurement,
    GlucoseMeasurement,
    PlxSpotCheckMeasurement,
    TemperatureMeasurement,
    WeightMeasurement,
    decode_characteristic,
)
from gatt.blood_pressure import PressureUnit
from gatt.decoding import DECODERS
from gatt.glucose import ConcentrationUnit, GlucoseType, SampleLocation
from gatt.health_thermometer import TemperatureUnit
from gatt.uuids import CharacteristicUUID, ServiceUUID
from gatt.weight_scale import WeightUnit
from homevitals.contract import Kind
from homevitals.contract.kinds import (
    FHIR_OBSERVATIONS,
    KIND_OF_CHARACTERISTIC,
    KINDS,
    METRICS,
    OWN_COLUMNS,
    UnknownKindFact,
    kind_info,
)
from homevitals.contract.schema import SCHEMA_PATH
from web.i18n import TEXTS as WEB_TEXTS

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def schema(repo_root) -> dict[str, Any]:
    return json.loads((repo_root / SCHEMA_PATH).read_text())


def _reading_definitions(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """kind -> the JSON Schema definition of that kind's reading."""
    found = {}
    for definition in schema["$defs"].values():
        kind = definition.get("properties", {}).get("kind", {})
        if "const" in kind:
            found[kind["const"]] = definition
    return found


def _values_fields(schema: dict[str, Any], definition: dict[str, Any]) -> set[str]:
    ref = definition["properties"]["values"]["$ref"].rsplit("/", 1)[-1]
    return set(schema["$defs"][ref]["properties"])


def test_every_kind_of_the_published_schema_has_an_entry(schema):
    kinds = set(_reading_definitions(schema))
    assert kinds == {str(k) for k in KINDS} == {str(k) for k in Kind}
    assert all(info.kind is kind for kind, info in KINDS.items())


def test_canonical_units_are_the_contracts(schema):
    for kind, definition in _reading_definitions(schema).items():
        assert kind_info(kind).unit == definition["properties"]["unit"]["const"], kind


def test_fields_named_by_the_registry_exist_in_the_kinds_values(schema):
    for kind, definition in _reading_definitions(schema).items():
        info, fields = kind_info(kind), _values_fields(schema, definition)
        assert info.main_value is None or info.main_value in fields, kind
        assert {m.name for m in info.alert_metrics} <= fields, kind
        assert set(info.limits) <= fields, kind
        assert info.limits, f"{kind} has no plausibility limits"
        # Every alert metric has a stored column to be read from.
        for metric in info.alert_metrics:
            assert info.stored_column(metric.name) in OWN_COLUMNS | {"value"}


def test_a_metric_has_the_unit_of_its_plausibility_limit():
    for info in KINDS.values():
        for metric in info.alert_metrics:
            limit = info.limits.get(metric.name)
            assert limit is not None and limit.unit == metric.unit, (info.kind, metric.name)
            assert limit.low < limit.high


def test_units_are_the_contracts_not_display_symbols():
    # The contract and the thresholds table say "Cel"; "°C" is only what a person reads.
    for metric in METRICS:
        assert "°" not in metric.unit
    assert {m.name: m.unit for m in METRICS}["temperature"] == "Cel"


def test_gatt_sources_are_real_sig_numbers_with_decoders():
    for info in KINDS.values():
        assert info.gatt.service in ServiceUUID.__members__.values(), info.kind
        assert info.gatt.characteristics, info.kind
        for uuid in info.gatt.characteristics:
            assert uuid in CharacteristicUUID.__members__.values(), (info.kind, hex(uuid))
            assert uuid in DECODERS, (info.kind, hex(uuid))
    assert set(MEASUREMENT_UUIDS) == set(KIND_OF_CHARACTERISTIC)


DEVICE = DeviceIdentity("A4:C1:38:00:11:22")
NOW = datetime(2026, 11, 29, 8, 58, 4, tzinfo=UTC)
# One measurement per characteristic the gateway turns into a reading, in the canonical unit
# and in every other unit the device may send.
MEASUREMENTS = [
    BloodPressureMeasurement(128, 82, 97, pulse_rate=64),
    BloodPressureMeasurement(16.0, 10.7, 12.4, unit=PressureUnit.KPA),
    WeightMeasurement(80.2),
    WeightMeasurement(176.8, unit=WeightUnit.POUND),
    GlucoseMeasurement(1, base_time=datetime(2026, 11, 29, 9, 0), concentration=0.0065,
                       concentration_unit=ConcentrationUnit.MOL_PER_L, type=GlucoseType.CAPILLARY_PLASMA,
                       sample_location=SampleLocation.FINGER),
    GlucoseMeasurement(2, base_time=datetime(2026, 11, 29, 9, 0), concentration=0.00117,
                       concentration_unit=ConcentrationUnit.KG_PER_L, type=GlucoseType.CAPILLARY_PLASMA,
                       sample_location=SampleLocation.FINGER),
    TemperatureMeasurement(36.8),
    TemperatureMeasurement(98.6, unit=TemperatureUnit.FAHRENHEIT),
    PlxSpotCheckMeasurement(97, 64),
]


@pytest.mark.parametrize("measurement", MEASUREMENTS, ids=lambda m: f"{type(m).__name__}")
def test_gateway_readings_follow_the_registry(measurement):
    raw = bytes(measurement)
    built = build_reading(decode_characteristic(measurement.UUID, raw), raw=raw, device=DEVICE,
                          gateway_time=NOW, clock=None, zone=ZoneInfo("Europe/Copenhagen"))
    reading = built.reading
    info = KINDS[reading.kind]
    assert KIND_OF_CHARACTERISTIC[int(reading.raw.uuid, 16)] is reading.kind
    assert reading.unit == info.unit
    assert reading.original_unit is None or reading.original_unit in info.original_units


def test_every_measurement_characteristic_is_covered_by_a_sample():
    missing = set(KIND_OF_CHARACTERISTIC) - {int(m.UUID) for m in MEASUREMENTS}
    assert not missing, f"add a sample measurement to MEASUREMENTS for {sorted(hex(u) for u in missing)}"


def test_every_kind_has_fhir_codes_or_says_why_not():
    for info in KINDS.values():
        assert bool(info.fhir) != bool(info.fhir_not_exported), info.kind
        for observation in info.fhir:
            assert observation.codes and observation.profile and observation.ucum, observation.prefix
            assert bool(observation.components) != (observation.field is not None), observation.prefix
            fields = [c.field for c in observation.components] or [observation.field]
            for field in fields:
                assert field is not None
                info.stored_column(field)  # raises for a field the readings table does not hold
        assert info.device_profile.code.isdigit() and info.device_profile.display.startswith("MDC_")
    prefixes = [o.prefix for o in FHIR_OBSERVATIONS]
    assert len(prefixes) == len(set(prefixes))


def test_labels_in_both_languages_reach_the_web_app_and_the_dashboards():
    for info in KINDS.values():
        assert info.label.da and info.label.en, info.kind
        assert DASHBOARD_TEXTS[f"map.metric.{info.kind}"] == tuple(info.label)
    for metric in METRICS:
        assert metric.label.da and metric.label.en and metric.symbol, metric.name
        assert DASHBOARD_TEXTS[f"map.metric.{metric.name}"] == tuple(metric.label)
        assert WEB_TEXTS[f"metric.{metric.name}"].da == f"{metric.label.da} ({metric.symbol})"


def test_unknown_kind_is_a_typed_error():
    with pytest.raises(UnknownKindFact) as caught:
        kind_info("body_composition")
    assert caught.value.kind == "body_composition"
    with pytest.raises(UnknownKindFact):
        KINDS[Kind.BLOOD_PRESSURE].stored_column("bmi")
