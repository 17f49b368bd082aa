"""The gateway imports nothing from the simulator (issue 19): it finds backends by entry point."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.backends import BACKEND_ENTRY_POINTS, backend_plugin
from gateway.errors import BackendError

pytestmark = pytest.mark.unit

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_gateway_module_imports_the_simulator():
    offenders = {
        str(path.relative_to(GATEWAY.parent)): sorted(m for m in imported_modules(path) if m.split(".")[0] == "simulator")
        for path in GATEWAY.rglob("*.py")
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_starting_the_gateway_loads_no_simulator_module():
    code = (
        "import sys, gateway.cli, gateway.service, gateway.backends\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'simulator'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_simulator_registers_itself_as_a_backend():
    plugin = backend_plugin("simulator")
    assert type(plugin).__module__ == "simulator.gateway_plugin"
    assert BACKEND_ENTRY_POINTS == "homevitals.ble_backends"


def test_an_unknown_backend_names_the_ones_there_are():
    with pytest.raises(BackendError, match=r"available: bleak, simulator"):
        backend_plugin("bluez-classic")
