"""The wheel ships no benchmark: benchmarks/ runs only from a source checkout."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WHEEL_CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]


def test_the_wheel_lists_every_service_package_and_not_the_benchmarks():
    # Only `packages` decides what goes in: no include/force-include/only-include to pull it in.
    assert set(WHEEL_CONFIG) == {"packages"}
    packages = set(WHEEL_CONFIG["packages"])
    assert "benchmarks" not in packages
    top_level = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert top_level - packages == {"benchmarks"}  # nothing else left out by mistake


def test_a_built_wheel_holds_no_benchmark_module(tmp_path):
    wheel_builder = pytest.importorskip("hatchling.builders.wheel", reason="hatchling (the build backend)")
    builder = wheel_builder.WheelBuilder(str(REPO))
    (built,) = builder.build(directory=str(tmp_path), versions=["standard"])
    names = zipfile.ZipFile(built).namelist()
    assert "ingest/writer.py" in names and "ingest/write_strategy.py" in names
    assert [n for n in names if n.startswith("benchmarks/") or "/bench" in n] == []
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    # The entry point stays (a source checkout needs it); homevitals/cli.py explains its absence.
    assert "bench = benchmarks.cli:app" in zipfile.ZipFile(built).read(entry_points).decode()
