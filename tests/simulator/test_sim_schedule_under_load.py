"""A simulation keeps its schedule on a busy machine, or says it is falling behind (issue 18).

No radio: the household's measure step is replaced by a deliberately slow one that blocks
the event loop, as a loaded machine does. The assertions are on counts, not on timings.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from simulator.runner import HouseholdSimulation
from simulator.scenario import load_scenario
from simulator.schedule import PlannedMeasurement

pytestmark = pytest.mark.unit

HOUSEHOLD = Path(__file__).resolve().parents[2] / "simulator" / "scenarios" / "household.yaml"
# Monday 23 November 2026, 05:00 in Copenhagen: the day's sessions are all ahead.
START = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


class BusyHousehold(HouseholdSimulation):
    """Each measurement blocks the loop for ``cost`` wall seconds (a fake of a busy machine)."""

    cost = 0.05

    def measure(self, planned: PlannedMeasurement):  # type: ignore[override]
        time.sleep(self.cost)  # blocking on purpose: the loop wakes late for the next one
        self.made.append(planned)  # type: ignore[arg-type]
        return planned


async def test_a_loaded_simulation_makes_every_due_measurement_and_warns():
    # 36 simulated hours per wall second: a day's sessions fall due within one second.
    sim = BusyHousehold(load_scenario(HOUSEHOLD), speed=36 * 3600, start=START, lag_tolerance_wall_s=0.1)
    sim.plan = [p for p in sim.plan if (p.at - START).total_seconds() < 24 * 3600]
    assert len(sim.plan) >= 8  # morning and evening pairs for the household's citizens
    with capture_logs() as logs:
        await sim._run()
    assert [p.at for p in sim.made] == [p.at for p in sim.plan]  # every one, in order, none skipped
    assert sim.due() == len(sim.plan)
    warnings = [e for e in logs if e["event"] == "simulation falling behind"]
    assert warnings, "a simulation that runs late must say so"
    assert warnings[0]["lag_simulated_s"] > 0 and "lower --speed" in warnings[0]["hint"]


async def test_an_unloaded_simulation_does_not_cry_wolf():
    sim = BusyHousehold(load_scenario(HOUSEHOLD), speed=36 * 3600, start=START, lag_tolerance_wall_s=0.1)
    sim.cost = 0.0
    sim.plan = sim.plan[:2]
    with capture_logs() as logs:
        await sim._run()
    assert len(sim.made) == 2
    assert not [e for e in logs if e["event"] == "simulation falling behind"]
