"""HL7 FHIR R4 resources built from homevitals rows (pure functions, docs/fhir.md).

- Which Observations a kind yields, with their LOINC and UCUM codes and profiles, is the kind
  registry's (``KindInfo.fhir`` in homevitals/contract/kinds.py): blood pressure a panel
  (85354-9, components 8480-6, 8462-4, 8478-0 in ``mm[Hg]``), heart rate 8867-4 (``/min``),
  body weight 29463-7, body temperature 8310-5, SpO2 2708-6/59408-5.
- Every Observation carries the reading_id as an identifier, effectiveDateTime (the
  measurement time), issued (hub receipt), the Patient and Device references, and the
  device's status flags (plus implausible/clock flags) in a homevitals extension.
- Patient follows DK-core: CPR as an official identifier with system urn:oid:1.2.208.176.1.2,
  only for callers allowed to see CPR numbers.
- Device follows the PHD IG's identifiers: the Bluetooth address as a BTMAC EUI-48.

Patient and Device are validated with the ``fhir.resources`` R4B models (R4-compatible for
these resources) before they leave (:func:`validated`). Observations and the search Bundle go
out as :func:`serialised`: built here in the models' element order and written with
``json.dumps``, byte for byte what the model path would write (a property test holds every
kind, flag and missing value to that), without constructing and validating some 50 models per
page, which cost ~90 ms of CPU per search.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from homevitals.contract.kinds import (
    FHIR_OBSERVATIONS,
    KINDS,
    KINDS_BY_NAME,
    FhirObservation,
    KindInfo,
    kind_info,
)

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MDC = "urn:iso:std:iso:11073:10101"
CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
DK_CORE_PATIENT = "http://hl7.dk/fhir/core/StructureDefinition/dk-core-patient"
READING_ID_SYSTEM = "https://homevitals.dk/fhir/sid/reading-id"
STATUS_EXTENSION = "https://homevitals.dk/fhir/StructureDefinition/measurement-status"
BLUETOOTH_SYSTEM = "http://hl7.org/fhir/sid/eui-48/bluetooth"
DEVICE_IDENTIFIER_TYPES = "http://hl7.org/fhir/uv/phd/CodeSystem/ContinuaDeviceIdentifiers"
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ],
    "text": "Vital Signs",
}
DATA_ABSENT_ERROR = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
            "code": "error",
            "display": "Error",
        }
    ]
}


# The Observation types, their LOINC/UCUM codes and the kinds that yield them are the kind
# registry's (homevitals/contract/kinds.py); this module only builds the resources.
ObservationType = FhirObservation
OBSERVATION_TYPES: tuple[ObservationType, ...] = FHIR_OBSERVATIONS
TYPES_BY_PREFIX = {t.prefix: t for t in OBSERVATION_TYPES}
TYPES_BY_CODE = {code: t for t in OBSERVATION_TYPES for code, _ in t.codes}
# Which reading kinds produce which Observation types.
KINDS_FOR_TYPE: dict[str, tuple[str, ...]] = {
    t.prefix: tuple(str(info.kind) for info in KINDS.values() if t in info.fhir) for t in OBSERVATION_TYPES
}


def _code(kind: ObservationType) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": c, "display": d} for c, d in kind.codes], "text": kind.text}


def _quantity(value: float, unit: str, ucum: str) -> dict[str, Any]:
    return {"value": round(float(value), 2), "unit": unit, "system": UCUM, "code": ucum}


def _instant(value: datetime) -> str:
    """ISO 8601 as the models write it: UTC as 'Z' (sessions are UTC), other offsets kept."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _status_extension(reading: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The device's status flags, and the hub's own flags, where there are any."""
    parts: list[dict[str, Any]] = []
    for name, value in (reading.get("status") or {}).items():
        if isinstance(value, bool):
            parts.append({"url": name, "valueBoolean": value})
        elif isinstance(value, str):
            parts.append({"url": name, "valueCode": value})
    if reading.get("implausible"):
        parts.append({"url": "implausible", "valueBoolean": True})
        parts += [
            {"url": "implausible_reason", "valueString": r} for r in reading.get("implausible_reasons") or []
        ]
    if reading.get("clock_in_future"):
        parts.append({"url": "clock_in_future", "valueBoolean": True})
    parts += [{"url": "invalid_value", "valueCode": v} for v in reading.get("invalid_values") or []]
    if not parts:
        return []
    return [  # Extension's element order: extension before url
        {
            "extension": [*parts, {"url": "time_source", "valueCode": reading["time_source"]}],
            "url": STATUS_EXTENSION,
        }
    ]


def _base(kind: ObservationType, reading: Mapping[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{kind.prefix}-{reading['reading_id']}",
        "meta": {"profile": [kind.profile]},
        "identifier": [{"system": READING_ID_SYSTEM, "value": str(reading["reading_id"])}],
        "status": "final",
        "category": [VITAL_SIGNS],
        "code": _code(kind),
        "subject": {"reference": f"Patient/{reading['citizen_id']}"},
        "effectiveDateTime": _instant(reading["measured_at"]),
        "issued": _instant(reading["received_at"]),
        "performer": [{"reference": f"Patient/{reading['citizen_id']}"}],
        "device": {"reference": f"Device/{reading['device_id']}"},
    }
    extension = _status_extension(reading)
    if extension:
        resource["extension"] = extension
    if reading.get("implausible"):
        reasons = ", ".join(reading.get("implausible_reasons") or []) or "outside physiological limits"
        resource["note"] = [{"text": f"Flagged implausible by homevitals ({reasons}); left out of reports."}]
    return resource


def _value(resource: dict[str, Any], value: float | None, kind: ObservationType) -> dict[str, Any]:
    if value is None:
        resource["dataAbsentReason"] = DATA_ABSENT_ERROR
    else:
        resource["valueQuantity"] = _quantity(value, kind.unit, kind.ucum)
    return resource


def _panel(
    resource: dict[str, Any], reading: Mapping[str, Any], kind: ObservationType, info: KindInfo
) -> dict[str, Any]:
    components = []
    for part in kind.components:
        value = reading.get(info.stored_column(part.field))
        if value is None and part.optional:
            continue  # absent is not an error
        component: dict[str, Any] = {
            "code": {"coding": [{"system": LOINC, "code": part.loinc, "display": part.display}]}
        }
        if value is None:
            component["dataAbsentReason"] = DATA_ABSENT_ERROR
        else:
            component["valueQuantity"] = _quantity(value, kind.unit, kind.ucum)
        components.append(component)
    resource["component"] = components
    return resource


# FHIR's element order, which the models serialise in: the resources are built in it too.
_OBSERVATION_ORDER = ("resourceType", *Observation.elements_sequence())


def _in_element_order(resource: dict[str, Any]) -> dict[str, Any]:
    return {key: resource[key] for key in _OBSERVATION_ORDER if key in resource}


def observations_for_reading(reading: Mapping[str, Any], wanted: Sequence[str]) -> list[dict[str, Any]]:
    """The Observations (as FHIR JSON dicts) a reading yields, limited to the ``wanted`` prefixes.

    Keys come in FHIR's element order, so :func:`serialised` writes what :func:`validated` would.
    """
    return [_in_element_order(resource) for resource in _observations(reading, wanted)]


def _observations(reading: Mapping[str, Any], wanted: Sequence[str]) -> list[dict[str, Any]]:
    info = kind_info(reading["kind"])
    out: list[dict[str, Any]] = []
    for kind in info.fhir:
        if kind.prefix not in wanted:
            continue
        if kind.components:
            out.append(_panel(_base(kind, reading), reading, kind, info))
            continue
        if kind.field is None:  # pragma: no cover - the registry test holds every type to one or the other
            raise ValueError(f"FHIR type {kind.prefix!r} has neither components nor a field")
        value = reading.get(info.stored_column(kind.field))
        if value is None and kind.optional and kind.field not in (reading.get("invalid_values") or []):
            continue
        out.append(_value(_base(kind, reading), value, kind))
    return out


def patient_resource(citizen: Mapping[str, Any], *, include_cpr: bool, organisation: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(citizen["id"]),
        "meta": {"profile": [DK_CORE_PATIENT]},
        "active": bool(citizen["active"]),
        "name": [{"use": "official", "family": citizen["family_name"], "given": [citizen["given_name"]]}],
        "managingOrganization": {"display": organisation},
    }
    if include_cpr and citizen.get("cpr"):
        resource["identifier"] = [{"use": "official", "system": CPR_SYSTEM, "value": citizen["cpr"]}]
    if citizen.get("birth_date"):
        resource["birthDate"] = citizen["birth_date"].isoformat()
    return resource


def device_resource(device: Mapping[str, Any], patient_id: int | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "id": str(device["id"]),
        "identifier": [
            {
                "type": {
                    "coding": [
                        {
                            "system": DEVICE_IDENTIFIER_TYPES,
                            "code": "BTMAC",
                            "display": "Bluetooth MAC address",
                        }
                    ]
                },
                "system": BLUETOOTH_SYSTEM,
                "value": device["address"].replace(":", "-"),
            }
        ],
        "status": "active",
        "type": {"coding": [{"system": MDC, "code": "65573", "display": "MDC_MOC_VMS_MDS_SIMP"}]},
    }
    for field, key in (
        ("manufacturer", "manufacturer"),
        ("serial", "serialNumber"),
        ("model", "modelNumber"),
    ):
        if device.get(field):
            resource[key] = device[field]
    if device.get("firmware"):
        resource["version"] = [{"type": {"text": "firmware"}, "value": device["firmware"]}]
    info = KINDS_BY_NAME.get(device.get("kind") or "")
    if info is not None:
        profile = info.device_profile
        resource["specialization"] = [
            {"systemType": {"coding": [{"system": MDC, "code": profile.code, "display": profile.display}]}}
        ]
    if patient_id is not None:
        resource["patient"] = {"reference": f"Patient/{patient_id}"}
    return resource


def searchset(
    entries: Sequence[dict[str, Any]], *, base: str, self_url: str, next_url: str | None, timestamp: datetime
) -> dict[str, Any]:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": _instant(timestamp),
        "link": links,
    }
    if entries:  # FHIR has no empty lists: the models leave an empty one out
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/fhir/{e['resourceType']}/{e['id']}",
                "resource": e,
                "search": {"mode": "match"},
            }
            for e in entries
        ]
    return bundle


_MODELS: dict[str, Any] = {"Bundle": Bundle, "Observation": Observation, "Patient": Patient, "Device": Device}


def validated(resource: dict[str, Any]) -> str:
    """Validate with the fhir.resources model and return the JSON it serialises to."""
    model = _MODELS[resource["resourceType"]].model_validate(resource)
    json_text: str = model.model_dump_json()
    return json_text


def serialised(resource: dict[str, Any]) -> str:
    """The JSON :func:`validated` returns for an Observation or a searchset of them, without the
    models: for what this module builds (keys in element order, no None, instants as the
    models write them), the same bytes; tests/api/test_fhir_fast_path.py holds it to that."""
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
