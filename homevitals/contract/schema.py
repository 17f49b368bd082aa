"""Generate the JSON Schema of contract v1 from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homevitals.contract.acks import HubAck
from homevitals.contract.models import ReadingsBatch

SCHEMA_PATH = Path("docs/contract/readings.v1.schema.json")
ACKS_SCHEMA_PATH = Path("docs/contract/acks.v1.schema.json")


def readings_schema() -> dict[str, Any]:
    schema = ReadingsBatch.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_readings_schema() -> str:
    return json.dumps(readings_schema(), indent=2, sort_keys=True) + "\n"


def acks_schema() -> dict[str, Any]:
    schema = HubAck.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_acks_schema() -> str:
    return json.dumps(acks_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # regenerate: python -m homevitals.contract.schema
    SCHEMA_PATH.write_text(render_readings_schema(), encoding="utf-8")
    ACKS_SCHEMA_PATH.write_text(render_acks_schema(), encoding="utf-8")
