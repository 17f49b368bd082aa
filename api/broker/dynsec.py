"""A thin MQTT client for Mosquitto's dynamic security API, logged in as the hub's admin.

Each call publishes one command to ``$CONTROL/dynamic-security/v1`` (QoS 1) and waits for the
answer with the same correlation data on ``.../response``; a refusal raises
:class:`~api.broker.errors.BrokerAdminError` with the command and the plugin's own words.
Use it as a context manager: it connects on enter and disconnects on exit.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import SecretStr

from api.broker import commands
from api.broker.commands import GatewayBrokerAccount, Response
from api.broker.errors import BrokerAdminError, BrokerAdminTimeout, BrokerAdminUnavailable
from homevitals.contract.models import is_valid_gateway_id
from homevitals.mqtt_endpoint import MqttEndpoint

log = structlog.get_logger("api.broker")

# The plugin's words for "nothing to create": provisioning a gateway again updates it.
ALREADY_EXISTS = ("Client already exists", "Role already exists")
NOT_FOUND = ("Client not found", "Role not found")


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """TLS to the broker: system CAs unless ``ca_file``; a client certificate is optional."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


class DynsecAdmin:
    """Accounts and roles on the broker, managed over its ``$CONTROL`` topic API."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        password: SecretStr,
        tls: TlsOptions | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._answers: dict[str, Response] = {}
        self._pending: set[str] = set()  # every admin connected gets every answer: keep only ours
        self._connack: ReasonCode | None = None
        self._subscribed = False
        self._changed = threading.Condition()
        client_id = f"homevitals-broker-admin-{uuid.uuid4().hex[:12]}"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
        )
        MqttEndpoint(
            host=host,
            port=port,
            client_id=client_id,
            username=username,
            password=password,
            tls=tls is not None,
            ca_file=tls.ca_file if tls else None,
            cert_file=tls.cert_file if tls else None,
            key_file=tls.key_file if tls else None,
        ).configure(client)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client

    # --- paho callbacks (its network thread) ---------------------------------------------

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        with self._changed:
            self._connack = reason
            self._changed.notify_all()

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, _mid: int, reasons: list[ReasonCode], _p: object
    ) -> None:
        with self._changed:
            self._subscribed = not reasons[0].is_failure
            self._connack = self._connack if self._subscribed else reasons[0]
            self._changed.notify_all()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            for answer in commands.decode_responses(bytes(message.payload)):
                if answer.correlation in self._pending:
                    self._answers[answer.correlation] = answer
            self._changed.notify_all()

    # --- connection ----------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self._client.connect(self.host, self.port, keepalive=30)
        except OSError as error:
            raise BrokerAdminUnavailable(self.host, self.port, str(error)) from error
        self._client.loop_start()
        with self._changed:
            self._changed.wait_for(lambda: self._connack is not None, timeout=self.timeout)
            connack = self._connack
        if connack is None or connack.is_failure:
            self.close()
            reason = "no answer" if connack is None else str(connack)
            raise BrokerAdminUnavailable(self.host, self.port, reason)
        self._client.subscribe(commands.RESPONSE_TOPIC, qos=1)
        with self._changed:
            self._changed.wait_for(
                lambda: self._subscribed or self._connack is not connack, timeout=self.timeout
            )
            if not self._subscribed:
                self.close()
                reason = f"may not subscribe to {commands.RESPONSE_TOPIC}: not the admin role?"
                raise BrokerAdminUnavailable(self.host, self.port, reason)
        return self

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._client._reset_sockets()  # paho closes its socket pair only in __del__

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- one request, one answer ---------------------------------------------------------

    def call(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send ``command``; return the answer's data, or raise what the plugin refused."""
        name = str(command["command"])
        correlation = uuid.uuid4().hex
        with self._changed:
            self._pending.add(correlation)
        self._client.publish(commands.CONTROL_TOPIC, commands.encode_request(command, correlation), qos=1)
        with self._changed:
            answered = self._changed.wait_for(lambda: correlation in self._answers, timeout=self.timeout)
            self._pending.discard(correlation)
            if not answered:
                raise BrokerAdminTimeout(name, self.timeout)
            answer = self._answers.pop(correlation)
        if answer.error is not None:
            raise BrokerAdminError(name, answer.error)
        return answer.data

    def _call_unless(self, command: dict[str, Any], tolerated: tuple[str, ...]) -> bool:
        """False when the plugin answered with one of ``tolerated`` (exists / not found)."""
        try:
            self.call(command)
        except BrokerAdminTimeout:
            raise
        except BrokerAdminError as error:
            if error.error in tolerated:
                return False
            raise
        return True

    def ensure_role(self, rolename: str, acls: list[commands.Acl]) -> None:
        """Create the role, or give an existing one exactly these ACLs."""
        if not self._call_unless(commands.create_role(rolename, acls), ALREADY_EXISTS):
            self.call(commands.modify_role(rolename, acls))

    def ensure_client(
        self, username: str, password: SecretStr, client_id: str | None, roles: list[str]
    ) -> bool:
        """Create the account, or reset an existing one's password, client id and roles.

        Returns True when it was new. Changing an existing account disconnects its sessions.
        """
        secret = password.get_secret_value()
        if self._call_unless(commands.create_client(username, secret, client_id, roles), ALREADY_EXISTS):
            return True
        self.call(commands.modify_client(username, secret, client_id, roles))
        return False

    # --- gateways (called by enrollment) ---------------------------------------------------

    def provision_gateway(self, gateway_id: str, password: SecretStr) -> GatewayBrokerAccount:
        """A role allowing only the gateway's own topics, and an account bound to its client id.

        Provisioning an enrolled gateway again sets the new password and disconnects it.
        """
        if not is_valid_gateway_id(gateway_id):
            raise BrokerAdminError(
                "provision_gateway", f"{gateway_id!r} is not a gateway id ([a-z0-9][a-z0-9-]{{2,63}})"
            )
        account = commands.gateway_account(gateway_id)
        self.ensure_role(account.role, commands.gateway_acls(gateway_id))
        created = self.ensure_client(account.username, password, account.client_id, [account.role])
        log.info(
            "broker_gateway_provisioned", gateway_id=gateway_id, client_id=account.client_id, created=created
        )
        return account

    def revoke_gateway(self, gateway_id: str) -> None:
        """Delete the gateway's account and role; the broker disconnects it at once.

        Revoking a gateway that has no account is not an error (revocation is idempotent).
        """
        account = commands.gateway_account(gateway_id)
        deleted = self._call_unless(commands.delete_client(account.username), NOT_FOUND)
        self._call_unless(commands.delete_role(account.role), NOT_FOUND)
        log.info("broker_gateway_revoked", gateway_id=gateway_id, had_account=deleted)

    def gateway_accounts(self) -> list[str]:
        """The gateway ids that have a broker account with their gateway role."""
        return commands.gateway_usernames(self.call(commands.list_clients()))

    def set_password(self, username: str, password: SecretStr) -> None:
        self.call(commands.set_client_password(username, password.get_secret_value()))
