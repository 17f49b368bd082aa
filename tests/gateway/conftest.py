"""Fixtures of the gateway tests.

Real components only: a real Mosquitto (from tests/conftest.py, or one started here with an
ACL), real SQLite files, and the simulator's virtual BLE devices driven through bleak.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from devstack.services.mosquitto import LocalMosquitto
from gateway.outbox import Outbox
from homevitals.contract.schema import SCHEMA_PATH
from tests.gateway.helpers import COPENHAGEN, MqttCollector


@pytest.fixture
def zone() -> ZoneInfo:
    return COPENHAGEN


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox.open(tmp_path / "outbox.sqlite3", limit=1000) as box:
        yield box


@pytest.fixture(scope="session")
def readings_schema_validator(repo_root: Path) -> jsonschema.Draft202012Validator:
    schema = json.loads((repo_root / SCHEMA_PATH).read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def collector_factory(
    readings_schema_validator: jsonschema.Draft202012Validator,
) -> Iterator[Callable[[int, str], MqttCollector]]:
    started: list[MqttCollector] = []

    def make(port: int, gateway_id: str) -> MqttCollector:
        collector = MqttCollector(port, gateway_id, readings_schema_validator).start()
        started.append(collector)
        return collector

    yield make
    for collector in started:
        collector.stop()
    # Every readings message any test received met the JSON Schema and ReadingsBatch.
    for collector in started:
        assert len(collector.errors) == collector.expected_invalid, collector.errors


@pytest.fixture
def acl_mosquitto() -> Iterator[LocalMosquitto]:
    """A broker whose ACL lets anonymous clients publish status but not readings."""
    broker = LocalMosquitto()
    # The broker drops root and reads the ACL as its own user: keep the file in its folder.
    acl = broker.state_dir / "acl"
    acl.write_text(
        "topic readwrite homevitals/v1/gateways/+/status\n"
        "topic read homevitals/v1/gateways/+/readings\n",
        encoding="utf-8",
    )
    acl.chmod(0o644)
    broker.extra_config = f"acl_file {acl}\n"
    with broker:
        yield broker

