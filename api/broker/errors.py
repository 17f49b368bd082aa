"""Typed errors of the broker admin client; each carries the command and the broker's answer."""

from __future__ import annotations

from homevitals.errors import HomevitalsError


class BrokerAdminError(HomevitalsError):
    """The dynamic security plugin refused ``command`` with ``error`` (its own words)."""

    def __init__(self, command: str, error: str) -> None:
        self.command = command
        self.error = error
        super().__init__(f"broker refused {command}: {error}")


class BrokerAdminTimeout(BrokerAdminError):
    """No answer to ``command`` within the timeout: the plugin is not loaded, or the admin
    account may not publish to ``$CONTROL/dynamic-security/#``."""

    def __init__(self, command: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(
            command,
            f"no answer in {timeout_s:g} s; check that mosquitto.conf loads mosquitto_dynamic_security.so "
            "and that the admin account has the dynsec admin role",
        )


class BrokerAdminUnavailable(BrokerAdminError):
    """The admin connection failed or was refused (``reason`` from CONNACK or the socket)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        super().__init__(
            "connect",
            f"cannot log in to {host}:{port} as the broker admin ({reason}); check the host, port and "
            "admin password (docs/deployment.md, 'Bootstrapping the broker')",
        )
