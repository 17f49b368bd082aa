"""What enrollment needs from the broker, as a Protocol.

The real implementation is :class:`api.broker.dynsec.DynsecAdmin` (Mosquitto's dynamic
security plugin, driven over ``$CONTROL/dynamic-security/v1``). Routes and the hub CLI get a
:data:`BrokerAdminFactory` and open one admin session per operation; the calls block (paho),
so async callers run them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr

if TYPE_CHECKING:
    from api.broker.settings import BrokerAdminSettings


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


def broker_admin_from(settings: BrokerAdminSettings) -> BrokerAdminFactory | None:
    """Real admin sessions with the API_BROKER_* login, or None when no admin password is set
    (this hub then enrolls nothing, and says so)."""
    if settings.admin_password is None:
        return None
    return settings.admin
