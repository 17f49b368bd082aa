"""Random bytes to every decoder: a model or a DecodeError, never anything else.

A decoded model must also re-encode, and decoding that encoding gives the same model
(decoding is stable even when the device used a non-canonical SFLOAT form).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gatt import GATT_VALUE_TYPES, RacpRequest, decode_characteristic
from gatt.errors import DecodeError, UnknownCharacteristic

pytestmark = pytest.mark.unit

DECODERS: list[type[Any]] = [*GATT_VALUE_TYPES, RacpRequest]


@pytest.mark.parametrize("model", DECODERS, ids=lambda model: model.__name__)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.binary(max_size=48))
@example(payload=b"")
@example(payload=b"\xff" * 48)
def test_random_bytes_give_a_model_or_a_decode_error(model: type[Any], payload: bytes) -> None:
    try:
        value = model.from_bytes(payload)
    except DecodeError as error:
        failure = error
    else:
        assert isinstance(value, model)
        assert model.from_bytes(bytes(value)) == value
        value.to_json_dict()
        return
    assert failure.data == payload
    assert 0 <= failure.offset <= len(payload)
    assert str(failure).startswith(f"0x{model.UUID:04X}: offset {failure.offset}: expected ")


@given(uuid=st.integers(0, 0xFFFF), payload=st.binary(max_size=24))
@settings(max_examples=300, deadline=None)
def test_the_registry_raises_only_typed_errors(uuid: int, payload: bytes) -> None:
    with contextlib.suppress(DecodeError, UnknownCharacteristic):
        decode_characteristic(uuid, payload)
