"""FHIR R4: the output validates with fhir.resources, and codes, units and references are right."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from api_support import bearer, insert_reading, principals
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
STATUS_EXTENSION = "https://homevitals.dk/fhir/StructureDefinition/measurement-status"


@pytest.fixture
def readings(seeded, db_dsn):
    """Anna: a flagged BP reading with pulse, a failed one, an implausible one, and a weight."""
    movement = {
        "body_movement": True,
        "cuff_fit_loose": False,
        "irregular_pulse": False,
        "pulse_rate_range": "in_range",
        "improper_position": False,
    }
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        common = {
            "device_id": seeded.device_anna,
            "citizen_id": seeded.anna,
            "assignment_id": seeded.assignment_anna,
        }
        flagged = insert_reading(
            conn,
            measured_at=datetime(2026, 4, 1, 6, 30, tzinfo=UTC),
            systolic=142,
            diastolic=91,
            pulse=72,
            status=movement,
            **common,
        )
        failed = insert_reading(
            conn,
            measured_at=datetime(2026, 4, 1, 18, 0, tzinfo=UTC),
            systolic=None,
            diastolic=None,
            pulse=None,
            invalid_values=("systolic", "diastolic"),
            **common,
        )
        implausible = insert_reading(
            conn,
            measured_at=datetime(2026, 4, 2, 6, 0, tzinfo=UTC),
            systolic=310,
            diastolic=90,
            implausible=True,
            implausible_reasons=("systolic_range",),
            **common,
        )
        weight = insert_reading(
            conn, measured_at=datetime(2026, 4, 2, 7, 0, tzinfo=UTC), kind="weight", value=72.4, **common
        )
    return {"flagged": flagged, "failed": failed, "implausible": implausible, "weight": weight}


def _by_id(bundle: dict) -> dict[str, dict]:
    return {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}


def _coding(concept: dict) -> tuple[str, str]:
    return concept["coding"][0]["system"], concept["coding"][0]["code"]


async def test_observation_search_is_a_valid_searchset_with_vital_signs_codes(client, seeded, readings):
    response = await client.get(
        "/fhir/Observation",
        params=[("patient", str(seeded.anna)), ("date", "ge2026-04-01"), ("date", "le2026-04-01")],
        headers=bearer(principals(seeded)["clinician"]),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    bundle = response.json()
    Bundle.model_validate(bundle)  # raises on anything R4 does not allow
    assert bundle["type"] == "searchset"
    resources = _by_id(bundle)
    flagged, failed = readings["flagged"], readings["failed"]
    # 1 April local time: the flagged reading (BP + heart rate) and the failed one (BP only, no pulse).
    assert set(resources) == {f"bp-{flagged}", f"hr-{flagged}", f"bp-{failed}"}

    bp = resources[f"bp-{flagged}"]
    Observation.model_validate(bp)
    assert bp["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bp"]
    assert _coding(bp["code"]) == (LOINC, "85354-9")
    assert _coding(bp["category"][0]) == (
        "http://terminology.hl7.org/CodeSystem/observation-category",
        "vital-signs",
    )
    components = {_coding(c["code"])[1]: c["valueQuantity"] for c in bp["component"]}
    assert components["8480-6"] == {"value": 142.0, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}
    assert components["8462-4"] == {"value": 91.0, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}
    assert bp["identifier"] == [
        {"system": "https://homevitals.dk/fhir/sid/reading-id", "value": str(flagged)}
    ]
    assert datetime.fromisoformat(bp["effectiveDateTime"]) == datetime(2026, 4, 1, 6, 30, tzinfo=UTC)
    assert bp["subject"] == {"reference": f"Patient/{seeded.anna}"}
    assert bp["device"] == {"reference": f"Device/{seeded.device_anna}"}
    flags = {e["url"]: e.get("valueBoolean", e.get("valueCode")) for e in bp["extension"][0]["extension"]}
    assert bp["extension"][0]["url"] == STATUS_EXTENSION
    assert flags["body_movement"] is True and flags["pulse_rate_range"] == "in_range"

    hr = resources[f"hr-{flagged}"]
    assert hr["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/heartrate"]
    assert _coding(hr["code"]) == (LOINC, "8867-4")
    assert hr["valueQuantity"] == {"value": 72.0, "unit": "beats/minute", "system": UCUM, "code": "/min"}
    assert hr["identifier"] == bp["identifier"]

    absent = resources[f"bp-{failed}"]
    assert all(c["dataAbsentReason"]["coding"][0]["code"] == "error" for c in absent["component"])


async def test_code_filter_dates_in_local_time_and_paging(client, seeded, readings):
    headers = bearer(principals(seeded)["clinician"])
    only_hr = await client.get(
        "/fhir/Observation",
        headers=headers,
        params={"patient": f"Patient/{seeded.anna}", "code": "http://loinc.org|8867-4"},
    )
    ids = set(_by_id(only_hr.json()))
    assert all(i.startswith("hr-") for i in ids) and f"hr-{readings['flagged']}" in ids
    assert (
        await client.get(
            "/fhir/Observation",
            headers=headers,
            params={"patient": seeded.anna, "code": "http://snomed.info/sct|85354-9"},
        )
    ).json().get("entry", []) == []

    # 2 April 00:30 in Copenhagen (CEST) is 1 April 22:30 UTC: a day is a local day.
    weight = await client.get(
        "/fhir/Observation",
        headers=headers,
        params={"patient": seeded.anna, "code": "29463-7", "date": "2026-04-02"},
    )
    [entry] = weight.json()["entry"]
    assert entry["resource"]["valueQuantity"] == {"value": 72.4, "unit": "kg", "system": UCUM, "code": "kg"}

    seen: list[str] = []
    params: dict[str, str] = {"patient": str(seeded.anna), "code": "85354-9", "_count": "2"}
    for _ in range(10):
        page = (await client.get("/fhir/Observation", headers=headers, params=params)).json()
        Bundle.model_validate(page)
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not following:
            break
        params = {k: v[0] for k, v in parse_qs(urlsplit(following[0]).query).items()}
    assert len(seen) == len(set(seen)) == 3 + len(seeded.anna_readings)  # every BP reading, once
    assert all(i.startswith("bp-") for i in seen)


async def test_implausible_readings_carry_the_flag_and_a_note(client, seeded, readings):
    response = await client.get(
        f"/fhir/Observation/bp-{readings['implausible']}", headers=bearer(principals(seeded)["clinician"])
    )
    observation = response.json()
    Observation.model_validate(observation)
    flags = {
        e["url"]: e.get("valueBoolean", e.get("valueString"))
        for e in observation["extension"][0]["extension"]
    }
    assert flags["implausible"] is True and flags["implausible_reason"] == "systolic_range"
    assert "implausible" in observation["note"][0]["text"]


async def test_patient_follows_dk_core_with_the_cpr_identifier(client, seeded):
    response = await client.get(
        f"/fhir/Patient/{seeded.anna}", headers=bearer(principals(seeded)["clinician"])
    )
    patient = response.json()
    Patient.model_validate(patient)
    assert patient["meta"]["profile"] == ["http://hl7.dk/fhir/core/StructureDefinition/dk-core-patient"]
    assert patient["identifier"] == [
        {"use": "official", "system": "urn:oid:1.2.208.176.1.2", "value": "0101501234"}
    ]
    assert patient["name"] == [{"use": "official", "family": "Andersen", "given": ["Anna"]}]
    assert patient["birthDate"] == "1950-01-01"
    assert patient["managingOrganization"] == {"display": "Testkommune"}


async def test_device_has_the_bluetooth_identifier_and_its_patient(client, seeded):
    response = await client.get(
        f"/fhir/Device/{seeded.device_anna}", headers=bearer(principals(seeded)["clinician"])
    )
    device = response.json()
    Device.model_validate(device)
    [identifier] = device["identifier"]
    assert identifier["system"] == "http://hl7.org/fhir/sid/eui-48/bluetooth"
    assert identifier["value"] == "A4-C1-38-00-00-01"
    assert identifier["type"]["coding"][0]["code"] == "BTMAC"
    assert device["patient"] == {"reference": f"Patient/{seeded.anna}"}
    assert device["specialization"][0]["systemType"]["coding"][0]["code"] == "528391"  # BP monitor
    assert (device["manufacturer"], device["modelNumber"], device["serialNumber"]) == (
        "A&D Medical",
        "UA-651BLE",
        "5081234",
    )


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"patient": "abc"}, 422),
        ({"patient": "1", "date": "2026-13-01"}, 422),
        ({"patient": "1", "date": "sa2026-01-01"}, 422),
        ({"patient": "999999"}, 404),
    ],
)
async def test_bad_searches_are_problems(client, seeded, params, status):
    response = await client.get(
        "/fhir/Observation", params=params, headers=bearer(principals(seeded)["clinician"])
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
