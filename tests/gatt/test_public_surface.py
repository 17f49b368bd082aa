"""The package's public surface is exactly its ``__all__``: nothing leaks, nothing is missing."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import gatt
from gatt.decoding import GATT_VALUE_TYPES

pytestmark = pytest.mark.unit


def _public_names(module: object) -> set[str]:
    return {name for name, value in vars(module).items()
            if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"}


def test_all_lists_each_public_name_once():
    assert len(gatt.__all__) == len(set(gatt.__all__))
    assert _public_names(gatt) == set(gatt.__all__)


def test_star_import_gives_exactly_all():
    namespace: dict[str, object] = {}
    exec("from gatt import *", namespace)  # noqa: S102 - the star import is what is under test
    assert set(namespace) - {"__builtins__"} == set(gatt.__all__)


def test_every_exported_class_lives_in_a_submodule_that_callers_may_import_too():
    for name in gatt.__all__:
        value = getattr(gatt, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            module = importlib.import_module(value.__module__)
            assert value.__module__.startswith("gatt."), name
            assert getattr(module, name) is value


def test_modules_with_an_all_export_what_they_define():
    for info in pkgutil.iter_modules(gatt.__path__):
        module = importlib.import_module(f"gatt.{info.name}")
        exported = getattr(module, "__all__", None)
        if exported is None:
            continue
        for name in exported:
            assert hasattr(module, name), f"gatt.{info.name}.__all__ names {name}, which it lacks"


def test_the_exported_classes_are_value_classes_and_the_decode_entry_points():
    entry_points = {gatt.GattValue, gatt.CharacteristicUUID, gatt.ServiceUUID, gatt.RacpRequest}
    for name in gatt.__all__:
        value = getattr(gatt, name)
        if not inspect.isclass(value) or value in entry_points:
            continue
        assert value in GATT_VALUE_TYPES or issubclass(value, Exception), (
            f"gatt exports {name}: import it from {value.__module__} instead")
