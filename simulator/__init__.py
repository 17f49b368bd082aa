"""Virtual Bluetooth LE health devices on Bumble, and a bleak backend that reaches them.

Entry points (see docs/simulator.md):

- :class:`simulator.runner.HouseholdSimulation` runs a scenario in-process and exposes
  ``.world``;
- :class:`simulator.bleak_backend.BumbleScanner` / :class:`~simulator.bleak_backend.BumbleClient`
  go to ``BleakScanner(backend=...)`` / ``BleakClient(backend=...)``;
- :func:`simulator.scenario.load_scenario` reads a scenario file;
- :class:`simulator.world.VirtualWorld` and :mod:`simulator.devices` build worlds by hand.
"""
