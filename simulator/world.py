"""The virtual radio world: one Bumble ``LocalLink``, the virtual peripherals and one central.

Every device gets its own Bumble controller on the shared link, so several devices run in one
process and talk real HCI, LL, L2CAP, SMP and ATT to the central the bleak backend drives.

    async with VirtualWorld() as world:
        await world.add_device(BloodPressureMonitor(profile, world.clock, world.tz))
        ...  # BleakScanner(backend=BumbleScanner) finds it
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, tzinfo
from types import TracebackType
from typing import Self
from zoneinfo import ZoneInfo

import structlog
from bumble import core, hci
from bumble.core import PhysicalTransport
from bumble.device import Advertisement, Connection, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from simulator.clock import SimClock
from simulator.controller import TEARDOWN_ERRORS, VirtualController
from simulator.devices import DeviceProfile, VirtualDevice, create_device
from simulator.devices.base import just_works_pairing
from simulator.errors import UnknownDeviceError, WorldError
from simulator.model import DeviceKind

DEFAULT_CENTRAL_ADDRESS = "F0:F0:F0:00:00:01"
DEFAULT_TIMEZONE = "Europe/Copenhagen"

ScanListener = Callable[[Advertisement], None]

_running: list[VirtualWorld] = []


def running_worlds() -> tuple[VirtualWorld, ...]:
    """Worlds started and not yet stopped in this process, oldest first."""
    return tuple(_running)


class VirtualWorld:
    """Owns the link, the peripherals and the central controller."""

    def __init__(
        self,
        *,
        clock: SimClock | None = None,
        timezone: str | tzinfo = DEFAULT_TIMEZONE,
        central_address: str = DEFAULT_CENTRAL_ADDRESS,
        central_name: str = "homevitals-gateway",
    ) -> None:
        self.clock = clock or SimClock()
        self.tz: tzinfo = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self.central_address = central_address.upper()
        self.central_name = central_name
        self._devices: dict[str, VirtualDevice] = {}
        self._link: LocalLink | None = None
        self._central: Device | None = None
        self._central_controller: VirtualController | None = None
        self._connect_lock = asyncio.Lock()
        self._scan_listeners: list[ScanListener] = []
        self._scan_lock = asyncio.Lock()
        self._log = structlog.get_logger("simulator.world")

    # ------------------------------------------------------------------ lifecycle
    @property
    def is_running(self) -> bool:
        return self._central is not None

    async def start(self) -> None:
        """Create the link and the central, and attach every device added so far."""
        if self._central is not None:
            raise WorldError("the world is already running")
        link = LocalLink()  # type: ignore[no-untyped-call]  # Bumble leaves __init__ unannotated
        controller = VirtualController("central", link=link)
        central = Device(
            name=self.central_name,
            address=hci.Address(self.central_address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        central.pairing_config_factory = just_works_pairing
        central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await central.power_on()
        self._link, self._central, self._central_controller = link, central, controller
        _running.append(self)
        try:
            for device in self._devices.values():
                await device.attach(link)
        except BaseException:
            await self.stop()
            raise
        self._log.info("virtual world started", devices=len(self._devices))

    async def stop(self) -> None:
        """Disconnect everything and power every controller off."""
        central, link = self._central, self._link
        if central is None or link is None:
            return
        if self in _running:
            _running.remove(self)
        self._scan_listeners.clear()
        with contextlib.suppress(*TEARDOWN_ERRORS):  # best effort while tearing down
            await central.stop_scanning()
        for connection in list(central.connections.values()):
            with contextlib.suppress(*TEARDOWN_ERRORS):  # best effort while tearing down
                await asyncio.wait_for(connection.disconnect(), 2.0)
        for device in self._devices.values():
            await device.detach()
        await central.power_off()
        if self._central_controller is not None:
            link.remove_controller(self._central_controller)
        self._central = self._central_controller = self._link = None
        self._log.info("virtual world stopped")

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

    # ------------------------------------------------------------------ devices
    def new_device(
        self,
        kind: DeviceKind,
        profile: DeviceProfile,
        *,
        clock_reset_at: datetime | None = None,
    ) -> VirtualDevice:
        """A device of ``kind`` that keeps time with this world (not yet added)."""
        return create_device(kind, profile, self.clock, self.tz, clock_reset_at=clock_reset_at)

    async def add_device(self, device: VirtualDevice) -> VirtualDevice:
        """Put a device in the world; it powers on now if the world is running."""
        address = device.address
        if address in self._devices or address == self.central_address:
            raise WorldError(f"address {address} is already used in this world")
        if any(d.key == device.key for d in self._devices.values()):
            raise WorldError(f"device id {device.key!r} is already used in this world")
        self._devices[address] = device
        if self._link is not None:
            await device.attach(self._link)
        return device

    async def remove_device(self, key: str) -> None:
        device = self.device(key)
        await device.detach()
        del self._devices[device.address]

    @property
    def devices(self) -> tuple[VirtualDevice, ...]:
        return tuple(self._devices.values())

    def find(self, key: str) -> VirtualDevice | None:
        """The device with this address or scenario id (case-insensitive), if any."""
        wanted = key.upper()
        if (device := self._devices.get(wanted)) is not None:
            return device
        return next((d for d in self._devices.values() if d.key.upper() == wanted), None)

    def device(self, key: str) -> VirtualDevice:
        """Like ``find``, but raises ``UnknownDeviceError``."""
        if (device := self.find(key)) is None:
            raise UnknownDeviceError(key)
        return device

    # ------------------------------------------------------------------ the central
    @property
    def central(self) -> Device:
        if self._central is None:
            raise WorldError("the world is not running")
        return self._central

    async def connect(self, address: str, wait_seconds: float) -> Connection:
        """Connect the central to a peripheral; raises ``TimeoutError`` if it is silent.

        Bumble's central has one LE connection attempt in flight at a time (as most real
        controllers), so concurrent callers queue here, within their own timeout.
        """
        central = self.central
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        async with asyncio.timeout(wait_seconds):
            await self._connect_lock.acquire()
        try:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no time left to connect to {address}")
            try:
                return await central.connect(
                    hci.Address(address.upper()),
                    transport=PhysicalTransport.LE,
                    timeout=remaining,
                )
            except core.TimeoutError as error:
                raise TimeoutError(f"{address} did not answer within {wait_seconds:.1f} s") from error
            except asyncio.CancelledError:
                # The caller gave up: withdraw the attempt, or the controller would connect
                # later on its own and refuse every other attempt meanwhile.
                with contextlib.suppress(*TEARDOWN_ERRORS):  # best effort, we are being cancelled
                    await asyncio.shield(
                        central.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
                    )
                raise
        finally:
            self._connect_lock.release()

    async def add_scan_listener(self, listener: ScanListener) -> None:
        """Receive every advertisement the central hears; scanning runs while anyone listens."""
        async with self._scan_lock:
            self._scan_listeners.append(listener)
            central = self.central
            if not central.is_scanning:
                await central.start_scanning(active=True, filter_duplicates=False)

    async def remove_scan_listener(self, listener: ScanListener) -> None:
        async with self._scan_lock:
            with contextlib.suppress(ValueError):
                self._scan_listeners.remove(listener)
            central = self._central
            if central is not None and not self._scan_listeners and central.is_scanning:
                await central.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        for listener in list(self._scan_listeners):
            listener(advertisement)
