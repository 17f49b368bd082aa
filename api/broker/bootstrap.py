"""The hub's own broker accounts, made (or brought back in line) over the admin connection.

``mosquitto_ctrl dynsec init`` creates only the admin account, with a role that may also read
every topic. :func:`bootstrap` narrows that role to the ``$CONTROL`` API, keeps the
deny-by-default ACL access, and creates (or resets) the accounts the hub runs on:

- one ingest account per worker, ``hub_ingest_{n}``, bound to that worker's client id, in the
  ``hub-ingest`` role (the shared group, gateway status, publishing hub acks);
- the gateway accounts it is given (the simulated homes of a demo; real ones are enrolled).

The compose healthcheck logs in as the admin (``mosquitto_ctrl``), so no account exists only
for it.

It is idempotent; an account that exists gets its password, client id and role set again
(which disconnects its live sessions once: ingest reconnects and gateways re-send).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import SecretStr

from api.broker import commands
from api.broker.dynsec import DynsecAdmin


def ingest_username(worker: int) -> str:
    """``hub_ingest_1`` ...: the ``_`` keeps it out of the gateway-id pattern, so no enrolled
    gateway can ever be given a hub account's name."""
    return f"hub_ingest_{worker}"


@dataclass(frozen=True)
class HubAccounts:
    ingest_password: SecretStr
    ingest_client_ids: tuple[str, ...]
    share_group: str = "ingest"
    # Gateways made at set-up time (the simulated homes of a demo); real ones are enrolled.
    gateways: dict[str, SecretStr] = field(default_factory=dict)


def bootstrap(admin: DynsecAdmin, accounts: HubAccounts, progress: Callable[[str], None] = print) -> None:
    admin.call(commands.set_default_acl_access())
    admin.ensure_role(commands.ADMIN_ROLE, commands.admin_acls())
    progress("admin role: $CONTROL/dynamic-security only; default access: deny publish and subscribe")
    admin.ensure_role(commands.INGEST_ROLE, commands.ingest_acls(accounts.share_group))
    for worker, client_id in enumerate(accounts.ingest_client_ids, start=1):
        created = admin.ensure_client(
            ingest_username(worker), accounts.ingest_password, client_id, [commands.INGEST_ROLE]
        )
        progress(f"{ingest_username(worker)} (client id {client_id}): {'created' if created else 'updated'}")
    for gateway_id, password in sorted(accounts.gateways.items()):
        account = admin.provision_gateway(gateway_id, password)
        progress(f"gateway {gateway_id} (client id {account.client_id}): ready")
