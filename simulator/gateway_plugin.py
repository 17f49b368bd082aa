"""The simulator as a BLE backend of the gateway, registered by entry point.

pyproject.toml declares ``simulator = "simulator.gateway_plugin:PLUGIN"`` in the
``homevitals.ble_backends`` group. The gateway finds it by name and never imports this
package itself, as bleak's facade never imports its backends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from gateway.allowlist import AllowedDevice
from gateway.backends import BleBackend
from gateway.errors import BackendError
from simulator.bleak_backend import BumbleClient, BumbleScanner
from simulator.runner import HouseholdSimulation
from simulator.scenario import load_scenario
from simulator.world import VirtualWorld


def simulator_backend(world: VirtualWorld) -> BleBackend:
    """The simulator's bleak backend classes, bound to ``world`` (see docs/simulator.md)."""
    return BleBackend(
        name="simulator",
        scanner_class=BumbleScanner,
        client_class=BumbleClient,
        # The same retry path as on BlueZ: bleak-retry-connector skips its BlueZ-only parts.
        use_retry_connector=True,
        extra_kwargs={"world": world},
        now=world.clock.now,
    )


class SimulatorPlugin:
    """Runs the scenario's household for the life of the gateway service."""

    name = "simulator"

    @asynccontextmanager
    async def open(self, *, scenario: Path | None, speed: float) -> AsyncIterator[BleBackend]:
        if scenario is None:
            raise BackendError(self.name, "needs --scenario FILE (or GATEWAY_SCENARIO)")
        async with HouseholdSimulation(load_scenario(scenario), speed=speed) as simulation:
            yield simulator_backend(simulation.world)

    def known_devices(self, scenario: Path | None) -> list[AllowedDevice]:
        """The scenario's devices: in the demo they are the household's."""
        if scenario is None:
            return []
        devices = []
        for spec in load_scenario(scenario).devices:
            profile = spec.profile()
            devices.append(AllowedDevice(address=spec.address, name=profile.name, model=profile.model,
                                         manufacturer=profile.manufacturer, serial=profile.serial))
        return devices


PLUGIN = SimulatorPlugin()
