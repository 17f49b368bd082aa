"""``homevitals bench``: one group, each benchmark imported only when its subcommand runs,
and nothing of benchmarks/ imported when a service starts."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.cli import BENCHMARKS, Benchmark, BenchmarkUnavailable, app

REPO = Path(__file__).resolve().parents[2]


def _loaded_modules(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter (the worktree first on the path); the modules of
    benchmarks/ it imported."""
    script = (
        "import sys, json\n"
        f"{code}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'benchmarks' or m.startswith('benchmarks.'))))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_service_start_imports_no_benchmark_module():
    code = (
        "import ingest.service, ingest.cli, api.app, api.cli, gateway.service, gateway.cli, web\n"
        "from homevitals.cli import build_app\n"
        "from typer.testing import CliRunner\n"
        "for group in ('ingest', 'api', 'gateway'):\n"
        "    build_app(only=group)\n"
        "    CliRunner().invoke(build_app(), [group, '--help'])\n"
    )
    assert _loaded_modules(code) == []


def test_listing_the_group_imports_no_benchmark():
    code = (
        "from typer.testing import CliRunner\n"
        "from benchmarks.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert all(name in result.output for name in ('ingest', 'writer', 'api', 'gateway', 'scale'))\n"
    )
    assert _loaded_modules(code) == ["benchmarks", "benchmarks.cli"]


def test_a_subcommand_imports_its_own_module_only():
    code = (
        "from typer.testing import CliRunner\n"
        "from benchmarks.cli import app\n"
        "result = CliRunner().invoke(app, ['api', '--help'])\n"
        "assert result.exit_code == 0 and '--clients' in result.output, result.output\n"
    )
    loaded = _loaded_modules(code)
    assert "benchmarks.api" in loaded
    assert not any(m.startswith(("benchmarks.ingest", "benchmarks.gateway")) for m in loaded)


def test_every_registered_benchmark_shows_its_options():
    runner = CliRunner()
    expected = {"ingest": "--per-row-readings", "writer": "--batch-readings", "api": "--rows", "gateway": "--window"}
    for name, option in expected.items():
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert option in result.output, (name, result.output)


def test_scale_has_its_slot_whether_or_not_its_package_has_landed():
    assert BENCHMARKS["scale"].module == "benchmarks.scale.cli"
    result = CliRunner().invoke(app, ["scale", "--help"])
    if importlib.util.find_spec("benchmarks.scale") is None:
        assert result.exit_code == 3
        assert "benchmarks.scale.cli is not in this checkout" in result.output
    else:
        assert result.exit_code == 0, result.output


def test_a_benchmark_whose_module_is_missing_says_so_instead_of_crashing():
    with pytest.raises(BenchmarkUnavailable) as caught:
        Benchmark("benchmarks.not_here.cli", ("app",), "nothing").load("later")
    assert str(caught.value) == (
        "'homevitals bench later' is not available: benchmarks.not_here.cli is not in this checkout."
    )


def test_a_benchmark_of_a_missing_extra_names_it(tmp_path, monkeypatch):
    (tmp_path / "bench_probe_needs_extra.py").write_text("import no_such_extra_pkg\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BenchmarkUnavailable, match="it needs no_such_extra_pkg, which is not installed"):
        Benchmark("bench_probe_needs_extra", ("app",), "nothing").load("extra")


def test_the_core_cli_explains_when_the_benchmarks_are_not_installed():
    # A wheel install has the entry point but not the package.
    code = (
        "from importlib.metadata import EntryPoint\n"
        "from typer.testing import CliRunner\n"
        "from homevitals import cli\n"
        "cli._register(EntryPoint('bench', 'benchmarks_absent_here.cli:app', 'homevitals.commands'))\n"
        "result = CliRunner().invoke(cli.app, ['bench'])\n"
        "print(result.exit_code, result.output.replace(chr(10), ' '))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout.startswith("3 ")
    assert "'homevitals bench' is not part of the installed package" in completed.stdout
    assert "source checkout" in completed.stdout
