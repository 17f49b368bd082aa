"""Typed errors of the simulator.

Each error keeps the data that explains it, so callers act on fields, not on messages.
"""

from __future__ import annotations

from pathlib import Path

from bleak.exc import BleakError

from homevitals.errors import HomevitalsError


class SimulatorError(HomevitalsError):
    """Base class of every error the simulator raises on purpose."""


class ScenarioError(SimulatorError):
    """A scenario file cannot be read or does not describe a valid household."""

    def __init__(self, source: Path | str, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"scenario {self.source}: {problem}")


class WorldError(SimulatorError):
    """The virtual world was used in a state that does not allow it."""


class NoWorldError(WorldError, BleakError):
    """The bleak backend was asked to work without a running virtual world.

    Also a ``BleakError``, so code written against bleak handles it like any other
    "Bluetooth is not there" failure.
    """

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(
            f"{problem}. Start a VirtualWorld (or HouseholdSimulation) first, and pass it as "
            "world=... to BleakScanner/BleakClient or activate it with "
            "simulator.bleak_backend.use_world(world)"
        )


class UnknownDeviceError(WorldError):
    """No virtual device with this address or id exists in the world."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no virtual device {key!r} in this world")
