"""Run a household: the scenario's people measuring on its virtual devices, in (fast) time.

In-process use, e.g. by the gateway service::

    async with HouseholdSimulation(load_scenario(path), speed=60) as sim:
        # sim.world is running; BumbleScanner/BumbleClient reach it (it is the only world,
        # or pass world=sim.world, or wrap in use_world(sim.world)).
        await sim.wait()            # until the schedule is done (or pass a timeout)

Each measurement is logged with structlog (event ``measurement``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

import structlog

from simulator.clock import SimClock
from simulator.devices import VirtualDevice
from simulator.model import FaultKind, StoredRecord
from simulator.scenario import DeviceSpec, Scenario
from simulator.schedule import PlannedMeasurement, plan_measurements, plan_stored_records
from simulator.world import VirtualWorld

log = structlog.get_logger("simulator")


@dataclass(frozen=True)
class MadeMeasurement:
    """A measurement the simulation made: what was planned and what the device stored."""

    planned: PlannedMeasurement
    record: StoredRecord
    fault: FaultKind | None


class FaultPicker:
    """Decides, per device, which of its measurements go wrong (deterministically)."""

    def __init__(self, scenario: Scenario) -> None:
        self._specs = {d.id: d for d in scenario.devices}
        self._counts: dict[str, int] = {}
        self._rngs = {
            d.id: random.Random(f"{scenario.seed}/faults/{d.id}")  # noqa: S311  (simulation)
            for d in scenario.devices
        }

    def next_fault(self, device_id: str) -> FaultKind | None:
        number = self._counts.get(device_id, 0) + 1
        self._counts[device_id] = number
        spec: DeviceSpec = self._specs[device_id]
        rng = self._rngs[device_id]
        # Draw once per rule for every measurement, used or not, so that one rule firing does
        # not shift the random faults of later measurements.
        draws = [rng.random() for _ in spec.faults]
        for rule, drawn in zip(spec.faults, draws, strict=True):
            if number in rule.on_measurements or drawn < rule.probability:
                return rule.kind
        return None


class HouseholdSimulation:
    """The virtual world of a scenario, plus a task that makes its measurements on time."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        speed: float = 1.0,
        start: datetime | None = None,
        lag_tolerance_wall_s: float = 2.0,
    ) -> None:
        self.scenario = scenario
        self.lag_tolerance_wall_s = lag_tolerance_wall_s
        self.clock = SimClock(start or scenario.start, speed)
        self.world = VirtualWorld(clock=self.clock, timezone=scenario.timezone)
        self.plan: list[PlannedMeasurement] = plan_measurements(scenario, self.clock.start)
        self.made: list[MadeMeasurement] = []
        self._faults = FaultPicker(scenario)
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def speed(self) -> float:
        return self.clock.speed

    @property
    def finished(self) -> bool:
        """True once every planned measurement has been made."""
        return self._done.is_set()

    def device(self, key: str) -> VirtualDevice:
        return self.world.device(key)

    async def start(self) -> None:
        start = self.clock.start
        stored = plan_stored_records(self.scenario, start)
        for spec in self.scenario.devices:
            # A reset clock restarted before the oldest record it holds (battery change).
            records = stored.get(spec.id, [])
            reset_at = min((p.at for p in records), default=start) - timedelta(hours=1)
            device = self.world.new_device(spec.kind, spec.profile(), clock_reset_at=reset_at)
            for planned in records:
                device.preload(planned.reading_for())
            await self.world.add_device(device)
        await self.world.start()
        for spec in self.scenario.devices:
            device = self.world.device(spec.id)
            if spec.advertise_at_start and len(device.store):
                device.open_advertising_window()
        log.info(
            "simulation started",
            scenario=self.scenario.name,
            speed=self.speed,
            simulated_start=start.isoformat(),
            devices=[d.key for d in self.world.devices],
            stored_records={d.key: len(d.store) for d in self.world.devices},
            planned_measurements=len(self.plan),
        )
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.world.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def wait(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109  (a convenience)
        """Wait until the schedule is done; False if ``timeout`` wall seconds passed first."""
        try:
            async with asyncio.timeout(timeout):
                await self._done.wait()
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        # The schedule is kept by simulated time: a measurement whose moment has passed
        # (a busy machine woke us late) is made at once, never skipped, and a lag beyond
        # the tolerance is said out loud, once per episode, with its size.
        behind = False
        for planned in self.plan:
            await self.clock.sleep_until(planned.at)
            lag = self.clock.now() - planned.at
            if lag > self.lag_tolerance and not behind:
                log.warning(
                    "simulation falling behind",
                    lag_simulated_s=round(lag.total_seconds(), 1),
                    lag_wall_s=round(lag.total_seconds() / self.speed, 2),
                    speed=self.speed,
                    pending=len(self.plan) - len(self.made),
                    hint="lower --speed or free the machine; measurements are made late, not lost",
                )
                behind = True
            elif lag <= self.lag_tolerance and behind:
                log.info("simulation caught up", made=len(self.made))
                behind = False
            self.measure(planned)
            # Let the devices' Bluetooth tasks run between measurements of a catch-up burst.
            await asyncio.sleep(0)
        self._done.set()
        log.info("schedule complete", measurements=len(self.made))

    @property
    def lag_tolerance(self) -> timedelta:
        """How late (simulated time) a measurement may be made before we warn."""
        return timedelta(seconds=self.lag_tolerance_wall_s * self.speed)

    def due(self) -> int:
        """How many planned measurements the simulated clock has reached by now."""
        now = self.clock.now()
        return sum(1 for planned in self.plan if planned.at <= now)

    def measure(self, planned: PlannedMeasurement) -> MadeMeasurement:
        """Make one planned measurement now (the runner calls this on schedule)."""
        fault = self._faults.next_fault(planned.device)
        device = self.world.device(planned.device)
        record = device.measure(planned.reading_for(fault))
        made = MadeMeasurement(planned=planned, record=record, fault=fault)
        self.made.append(made)
        log.info(
            "measurement",
            device=planned.device,
            address=device.address,
            kind=str(planned.kind),
            citizen=planned.citizen,
            user_slot=planned.user_slot,
            session=planned.session,
            reading=planned.reading + 1,
            values=dict(planned.values),
            fault=str(fault) if fault else None,
            taken_at=planned.at.isoformat(),
            device_time=record.device_time.isoformat(),
            seq=record.seq,
            stored=len(device.store),
            payload=record.payload.hex(),
        )
        return made


async def run_household(
    scenario: Scenario, *, speed: float = 1.0, duration: float | None = None
) -> HouseholdSimulation:
    """Run a scenario until its schedule is done or ``duration`` wall seconds have passed."""
    async with HouseholdSimulation(scenario, speed=speed) as simulation:
        completed = await simulation.wait(duration)
        if not completed:
            log.info(
                "simulation stopped",
                reason="duration reached",
                made=len(simulation.made),
                planned=len(simulation.plan),
                due=simulation.due(),  # reached by the simulated clock: made == due keeps time
            )
    return simulation
