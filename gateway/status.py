"""What the gateway knows about its devices, and the retained status message built from it.

Status (retained, on ``homevitals/v1/gateways/{id}/status``)::

    {"state": "online", "version": "0.1.0", "uptime_s": 3605.2, "outbox_depth": 0,
     "outbox_full": false, "outbox_limit": 100000, "sent_at": "...Z",
     "devices": [{"address", "model", "battery", "last_seen", "rssi"}],
     "ignored_devices": 1, "malformed_payloads": 0, "alarms": [], "last_error": null,
     "scanner": {"restarts": 0, "start_failures": 0, "last_error": null}}
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homevitals import __version__
from homevitals.contract import GatewayState, GatewayStatus


@dataclass
class DeviceState:
    address: str
    model: str | None = None
    battery: int | None = None
    last_seen: datetime | None = None
    rssi: int | None = None
    last_session_ok: bool | None = None
    last_session_at: datetime | None = None


class DeviceRegistry:
    """Live state of the allowed devices (advertisements and sessions update it)."""

    def __init__(self) -> None:
        self._devices: dict[str, DeviceState] = {}

    def state(self, address: str) -> DeviceState:
        key = address.upper()
        if key not in self._devices:
            self._devices[key] = DeviceState(key)
        return self._devices[key]

    def seen(self, address: str, rssi: int | None, when: datetime) -> None:
        state = self.state(address)
        state.last_seen = when
        state.rssi = rssi

    def known(self, addresses: list[str]) -> list[DeviceState]:
        return [self.state(address) for address in addresses]


@dataclass(frozen=True, slots=True)
class StatusInputs:
    started_monotonic: float
    now: datetime
    outbox_depth: int
    outbox_limit: int
    devices: list[DeviceState]
    ignored_devices: int
    malformed_payloads: int
    last_error: str | None
    scanner: dict[str, Any] | None = None


def build_status(inputs: StatusInputs) -> dict[str, Any]:
    """The online status document (validated by the contract's GatewayStatus model)."""
    outbox_full = inputs.outbox_depth >= inputs.outbox_limit
    document = GatewayStatus(
        state=GatewayState.ONLINE,
        version=__version__,
        uptime_s=round(time.monotonic() - inputs.started_monotonic, 1),
        outbox_depth=inputs.outbox_depth,
        outbox_full=outbox_full,
        devices=[
            {
                "address": device.address,
                "model": device.model,
                "battery": device.battery,
                "last_seen": device.last_seen,
                "rssi": device.rssi,
            }
            for device in inputs.devices
        ],
        sent_at=inputs.now,
        outbox_limit=inputs.outbox_limit,
        ignored_devices=inputs.ignored_devices,
        malformed_payloads=inputs.malformed_payloads,
        alarms=["outbox_full"] if outbox_full else [],
        last_error=inputs.last_error,
        scanner=inputs.scanner,
    )
    return document.model_dump(mode="json")
