"""Scanning for the health services, with a watchdog that restarts a stalled scanner.

BlueZ discovery sometimes stops delivering advertisements without an error (adapter reset,
another process changing the discovery filter, a wedged controller). The supervisor
restarts the scanner when nothing has been heard for ``stall_after_s``, and when starting
it fails; each restart is logged with its reason. In a quiet home a restart is harmless:
devices advertise for a while after each measurement, and they keep their records.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from gateway.backends import BleBackend
from gateway.errors import describe
from gatt.uuids import ServiceUUID, uuid128
from homevitals.contract.kinds import KINDS

log = structlog.get_logger("gateway.scanner")

# The services of the reading kinds (homevitals/contract/kinds.py), in registry order.
HEALTH_SERVICES: tuple[ServiceUUID, ...] = tuple(ServiceUUID(info.gatt.service) for info in KINDS.values())
HEALTH_SERVICE_UUIDS: list[str] = [uuid128(service) for service in HEALTH_SERVICES]
RESTART_BACKOFF_MAX_S = 60.0

AdvertisementHandler = Callable[[BLEDevice, AdvertisementData], None]


def advertised_health_services(advertisement: AdvertisementData) -> list[str]:
    """Short names of the health services an advertisement lists, e.g. ``["1810"]``."""
    wanted = {uuid128(service): f"{int(service):04x}" for service in HEALTH_SERVICES}
    return [wanted[uuid] for uuid in (u.lower() for u in advertisement.service_uuids) if uuid in wanted]


@dataclass
class ScannerStats:
    advertisements: int = 0
    restarts: int = 0
    start_failures: int = 0
    last_error: str | None = None


class ScanSupervisor:
    """Runs a ``BleakScanner`` for the health services until stopped, restarting on stalls."""

    def __init__(
        self,
        backend: BleBackend,
        on_advertisement: AdvertisementHandler,
        *,
        stall_after_s: float,
    ) -> None:
        self.backend = backend
        self.on_advertisement = on_advertisement
        self.stall_after_s = stall_after_s
        self.stats = ScannerStats()
        self._last_heard = time.monotonic()

    def _detected(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        self._last_heard = time.monotonic()
        self.stats.advertisements += 1
        # A bug in handling one advertisement must not kill scanning for everyone.
        try:
            self.on_advertisement(device, advertisement)
        except Exception:
            log.exception("advertisement_handler_failed", address=device.address)

    @property
    def quiet_for_s(self) -> float:
        return time.monotonic() - self._last_heard

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            scanner = self.backend.scanner(self._detected, HEALTH_SERVICE_UUIDS)
            failure = None
            try:
                await scanner.start()
            except (BleakError, OSError, TimeoutError) as error:
                failure = describe(error)
            if failure is not None:
                self.stats.start_failures += 1
                self.stats.last_error = failure
                log.error("scanner_start_failed", error=failure, retry_in_s=backoff,
                          hint="is bluetoothd running, the adapter powered, and the system D-Bus reachable? "
                          "see docs/gateway-install.md")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(RESTART_BACKOFF_MAX_S, backoff * 2)
                continue
            backoff = 1.0
            self.stats.last_error = None
            self._last_heard = time.monotonic()
            log.info("scanner_started", services=[f"{int(s):04x}" for s in HEALTH_SERVICES])
            reason = await self._watch(stop)
            try:
                await scanner.stop()
            except (BleakError, OSError, TimeoutError) as error:
                log.warning("scanner_stop_failed", error=describe(error))
            if reason is not None:
                self.stats.restarts += 1
                log.warning("scanner_restarted", reason=reason, restarts=self.stats.restarts)
        log.info("scanner_stopped")

    async def _watch(self, stop: asyncio.Event) -> str | None:
        """Wait for stop (None) or a stall (the reason)."""
        check_every = min(5.0, max(0.1, self.stall_after_s / 4))
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=check_every)
            if not stop.is_set() and self.quiet_for_s > self.stall_after_s:
                return f"no advertisement for {self.quiet_for_s:.0f} s (limit {self.stall_after_s:.0f} s)"
        return None
