"""Which BLE backend the gateway talks to: bleak's platform backend (BlueZ) or the simulator.

The rest of the gateway uses only bleak's public API (``BleakScanner``, ``BleakClient``,
``start_notify``, ``read_gatt_char``, ``write_gatt_char``, ``pair``, disconnected callbacks).
A backend here is just the pair of bleak backend classes passed through bleak's public
``backend=`` argument, plus how to connect with retries:

- on BlueZ, bleak-retry-connector's ``establish_connection`` (it knows BlueZ's transient
  errors, stale connections and out-of-slot conditions);
- elsewhere, a bounded exponential backoff of our own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementDataCallback, BaseBleakScanner
from bleak.exc import BleakError

from gateway.errors import BackendError

if TYPE_CHECKING:
    from gateway.allowlist import AllowedDevice

log = structlog.get_logger("gateway.backends")

DisconnectedCallback = Callable[[BleakClient], None]


# systemd-timesyncd creates this file once NTP has synchronized the clock (it is removed at boot).
TIMESYNC_MARKER = Path("/run/systemd/timesync/synchronized")


def utc_now() -> datetime:
    return datetime.now(UTC)


def always_synchronized() -> bool:
    return True


CONNECT_TIMEOUT_S = 20.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 8.0


@dataclass(frozen=True, slots=True)
class BleBackend:
    """How to make scanners and clients. ``None`` classes mean bleak's platform backend."""

    name: str
    scanner_class: type[BaseBleakScanner] | None = None
    client_class: type[BaseBleakClient] | None = None
    use_retry_connector: bool = True
    adapter: str | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    extra_kwargs: Mapping[str, Any] = field(default_factory=dict)  # e.g. the simulator's world=
    # The gateway's clock. The simulator's devices live in simulated time (compressed by
    # --speed), so there the gateway reads the simulation's clock: skews stay meaningful.
    now: Callable[[], datetime] = utc_now
    # Is that clock right? A Pi has no RTC: until NTP syncs, its clock is the last shutdown's.
    # While it is not, the gateway leaves device clocks alone rather than set them wrong.
    clock_synchronized: Callable[[], bool] = always_synchronized

    def scanner(
        self, detection_callback: AdvertisementDataCallback, service_uuids: list[str]
    ) -> BleakScanner:
        kwargs: dict[str, Any] = dict(self.extra_kwargs)
        if self.scanner_class is not None:
            kwargs["backend"] = self.scanner_class
        else:
            # Report every advertisement, not only changes: fresh RSSI/last_seen, and stall detection.
            kwargs["bluez"] = {"filters": {"DuplicateData": True}}
            if self.adapter:
                kwargs["bluez"]["adapter"] = self.adapter
        return BleakScanner(detection_callback, service_uuids, **kwargs)

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"timeout": self.connect_timeout_s, **self.extra_kwargs}
        if self.client_class is not None:
            kwargs["backend"] = self.client_class
        elif self.adapter:
            kwargs["bluez"] = {"adapter": self.adapter}
        return kwargs

    async def connect(
        self,
        device: BLEDevice,
        *,
        disconnected_callback: DisconnectedCallback,
        attempts: int,
    ) -> BleakClient:
        """Connect, retrying transient failures; raises ``BleakError`` after ``attempts``."""
        if self.use_retry_connector:
            from bleak_retry_connector import establish_connection  # noqa: PLC0415 - BlueZ only

            client: BleakClient = await establish_connection(
                BleakClient,
                device,
                device.name or device.address,
                disconnected_callback=disconnected_callback,
                max_attempts=attempts,
                **self._client_kwargs(),
            )
            return client
        return await self._connect_with_backoff(device, disconnected_callback, attempts)

    async def _connect_with_backoff(
        self, device: BLEDevice, disconnected_callback: DisconnectedCallback, attempts: int
    ) -> BleakClient:
        delay = BACKOFF_FIRST_S
        for attempt in range(1, attempts + 1):
            client = BleakClient(device, disconnected_callback, **self._client_kwargs())
            try:
                await client.connect()
            except (BleakError, TimeoutError, OSError) as error:
                if attempt == attempts:
                    raise
                log.info("connect_retry", address=device.address, attempt=attempt, error=str(error) or
                         type(error).__name__, retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(BACKOFF_MAX_S, delay * 2)
            else:
                return client
        raise BackendError(self.name, "no connection attempt was made (attempts < 1)")


def marker_exists(marker: Path) -> Callable[[], bool]:
    return marker.exists


def bleak_backend(adapter: str | None = None, clock_sync_marker: Path | None = TIMESYNC_MARKER) -> BleBackend:
    """bleak's platform backend (BlueZ on the Pi), with bleak-retry-connector."""
    synchronized = always_synchronized if clock_sync_marker is None else marker_exists(clock_sync_marker)
    return BleBackend(
        name="bleak", adapter=adapter, use_retry_connector=True, clock_synchronized=synchronized
    )


BACKEND_ENTRY_POINTS = "homevitals.ble_backends"


class BackendPlugin(Protocol):
    """A BLE backend other than bleak's own, registered in ``homevitals.ble_backends``."""

    def open(self, *, scenario: Path | None, speed: float) -> AbstractAsyncContextManager[BleBackend]: ...

    def known_devices(self, scenario: Path | None) -> list[AllowedDevice]: ...


def backend_plugin(name: str) -> BackendPlugin:
    """The plugin registered under ``name``; the gateway never imports one by module name."""
    found = entry_points(group=BACKEND_ENTRY_POINTS, name=name)
    if not found:
        available = sorted({"bleak", *(ep.name for ep in entry_points(group=BACKEND_ENTRY_POINTS))})
        raise BackendError(name, f"unknown backend; available: {', '.join(available)}")
    plugin: BackendPlugin = next(iter(found)).load()
    return plugin


@asynccontextmanager
async def open_backend(
    name: str,
    *,
    adapter: str | None = None,
    scenario: Path | None = None,
    speed: float = 1.0,
    clock_sync_marker: Path | None = TIMESYNC_MARKER,
) -> AsyncIterator[BleBackend]:
    """The configured backend for the life of the service (a plugin such as the simulator
    runs inside it)."""
    if name == "bleak":
        yield bleak_backend(adapter, clock_sync_marker)
        return
    async with backend_plugin(name).open(scenario=scenario, speed=speed) as backend:
        yield backend
