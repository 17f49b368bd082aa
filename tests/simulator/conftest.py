"""Fixtures of the simulator tests: a fresh virtual world per test, on a pinned clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_helpers import START

from simulator.clock import SimClock
from simulator.world import VirtualWorld


@pytest.fixture
async def world() -> AsyncIterator[VirtualWorld]:
    async with VirtualWorld(clock=SimClock(START)) as running:
        yield running
