"""What enrollment needs from the broker, as a Protocol.

The real implementation is :class:`api.broker.dynsec.DynsecAdmin` (Mosquitto's dynamic
security plugin, driven over ``$CONTROL/dynamic-security/v1``). Routes and the hub CLI get a
:data:`BrokerAdminFactory` and open one admin session per operation; the calls block (paho),
so async callers run them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr


class BrokerAccount(Protocol):
    """The account made for a gateway: its user name and the client id it is bound to."""

    @property
    def username(self) -> str: ...

    @property
    def client_id(self) -> str: ...


class BrokerAdmin(Protocol):
    def provision_gateway(self, gateway_id: str, password: SecretStr) -> BrokerAccount: ...

    def revoke_gateway(self, gateway_id: str) -> None: ...


BrokerAdminFactory = Callable[[], AbstractContextManager[BrokerAdmin]]


@dataclass(frozen=True, slots=True)
class BrokerAdminConfig:
    """How the hub logs in to the broker as its administrator (API_BROKER_ADMIN_*)."""

    host: str
    port: int
    username: str
    password: SecretStr
    tls: bool = False
    ca_file: Path | None = None
    timeout_s: float = 5.0


def dynsec_factory(config: BrokerAdminConfig) -> BrokerAdminFactory:
    """A factory of real dynamic-security admin sessions."""

    def open_admin() -> AbstractContextManager[BrokerAdmin]:
        from api.broker.dynsec import DynsecAdmin  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: PLC0415

        tls = _tls(config)
        admin: AbstractContextManager[BrokerAdmin] = DynsecAdmin(
            host=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            tls=tls,
            timeout=config.timeout_s,
        )
        return admin

    return open_admin


def _tls(config: BrokerAdminConfig) -> object | None:
    if not config.tls:
        return None
    import ssl  # noqa: PLC0415

    return ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
