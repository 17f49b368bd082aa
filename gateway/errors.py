"""Typed errors of the gateway service.

Each error carries the data that explains it, so the service can log fields and decide
what to do (retry, skip a device, alarm) without parsing messages.
"""

from __future__ import annotations

from pathlib import Path

from homevitals.errors import HomevitalsError


def describe(error: BaseException) -> str:
    """``"BleakError: Device disconnected"`` for a log field (some errors have no message)."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class GatewayError(HomevitalsError):
    """Base class of the gateway's own errors."""


class OutboxError(GatewayError):
    """The on-disk outbox cannot be opened or written."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"outbox {path}: {problem}")


class AllowListError(GatewayError):
    """The allow-list file cannot be read or written."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"allow-list {path}: {problem}")


class UnsupportedReading(GatewayError):
    """A decoded characteristic that is not a measurement the contract carries."""

    def __init__(self, uuid: int, model: str) -> None:
        self.uuid = uuid
        self.model = model
        super().__init__(f"0x{uuid:04X} ({model}) is not a measurement of contract v1")


class DeviceSessionError(GatewayError):
    """A device session failed at one of its steps; the device keeps its unread records."""

    def __init__(self, address: str, step: str, problem: str) -> None:
        self.address = address
        self.step = step
        self.problem = problem
        super().__init__(f"{address}: {step}: {problem}")


class PairingError(GatewayError):
    """``homevitals gateway pair`` found or bonded no device."""

    def __init__(self, problem: str, address: str | None = None) -> None:
        self.problem = problem
        self.address = address
        super().__init__(problem if address is None else f"{address}: {problem}")


class BackendError(GatewayError):
    """The configured BLE backend cannot be set up (e.g. simulator without a scenario)."""

    def __init__(self, backend: str, problem: str) -> None:
        self.backend = backend
        self.problem = problem
        super().__init__(f"BLE backend {backend!r}: {problem}")


class JoinError(GatewayError):
    """``homevitals gateway join`` could not fetch or write the enrollment bundle."""

    def __init__(self, problem: str, *, status: int | None = None, problem_type: str | None = None) -> None:
        self.problem = problem
        self.status = status
        self.problem_type = problem_type
        super().__init__(problem if status is None else f"the hub answered {status}: {problem}")
