"""``homevitals bench backlog`` end to end, scaled down: real Mosquitto with accounts, real
ingest workers, real gateway publishers and outbox files, a real TimescaleDB.

What it asserts is what the command reports as counted (from the database and from the
outbox files), never a time: every reading stored exactly once in both runs, no outbox row
left, no batch dead-lettered.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from benchmarks.cli import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GATEWAYS, PER_GATEWAY = 5, 200
HOMEVITALS = Path(__file__).resolve().parents[2] / ".venv/bin/homevitals"


def _rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0].startswith(("plain publisher", "gateways:")):
            rows[cells[0].split(":")[0]] = cells
    return rows


def test_the_backlog_bench_drains_every_outbox_with_exact_counts():
    # In its own process, as an operator runs it: the bench configures logging and forks its
    # gateway processes, which must not leak into the rest of the suite's process.
    completed = subprocess.run(
        [str(HOMEVITALS), "bench", "backlog", "--gateways", str(GATEWAYS),
         "--readings-per-gateway", str(PER_GATEWAY), "--processes", "2", "--report-every", "1",
         "--stall-timeout", "120"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    result = SimpleNamespace(exit_code=completed.returncode, output=completed.stdout + completed.stderr)
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert set(rows) == {"plain publisher", "gateways"}, result.output
    expected = f"{GATEWAYS * PER_GATEWAY:,}"
    for name, cells in rows.items():
        # gateways, readings, stored, duplicates
        assert cells[1:5] == [str(GATEWAYS), expected, expected, "0"], (name, cells)
    gateways = rows["gateways"]
    assert gateways[5] == "0 (0)", gateways  # outboxes with rows left (rows left), from the files
    sent, resent = (int(n.replace(",", "")) for n in gateways[9].split(" / "))
    # Each outbox forms 4 batches of 50 (the shipped batch size); every other send is a re-send.
    assert sent == GATEWAYS * PER_GATEWAY // 50 + resent, gateways
    assert re.search(r"count exact\)", result.output), result.output
    assert "progress" in result.output


def test_the_command_is_registered_in_the_bench_group():
    result = CliRunner().invoke(app, ["backlog", "--help"])
    assert result.exit_code == 0, result.output
    assert "--readings-per-gateway" in result.output
