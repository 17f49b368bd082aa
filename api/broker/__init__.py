"""The hub's side of the broker: accounts and roles in Mosquitto's dynamic security plugin.

:mod:`api.broker.commands` builds the ``$CONTROL/dynamic-security/v1`` requests and reads the
answers (no I/O); :mod:`api.broker.dynsec` sends them over MQTT with the hub's admin account.
docs/deployment.md ("The broker's security model") explains the accounts and what each may do.
"""

from api.broker.commands import GatewayBrokerAccount, gateway_client_id, gateway_role_name
from api.broker.dynsec import DynsecAdmin, TlsOptions
from api.broker.errors import BrokerAdminError, BrokerAdminTimeout, BrokerAdminUnavailable

__all__ = [
    "BrokerAdminError",
    "BrokerAdminTimeout",
    "BrokerAdminUnavailable",
    "DynsecAdmin",
    "GatewayBrokerAccount",
    "TlsOptions",
    "gateway_client_id",
    "gateway_role_name",
]
