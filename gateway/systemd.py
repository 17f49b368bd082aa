"""sd_notify without a dependency: READY, STATUS and the watchdog keep-alive.

systemd passes ``NOTIFY_SOCKET`` to a ``Type=notify`` service; outside systemd it is unset
and these calls do nothing. ``WatchdogSec=`` in the unit makes systemd restart a gateway
whose event loop stops ticking.
"""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send one sd_notify message; False when not running under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract socket namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            return False
    return True


def watchdog_interval_s() -> float | None:
    """Half the unit's WatchdogSec, or None when the watchdog is off."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or not usec.isdigit():
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 1_000_000 / 2
