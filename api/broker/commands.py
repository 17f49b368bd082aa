"""Requests to and answers from Mosquitto's dynamic security plugin, without I/O.

The plugin takes JSON on ``$CONTROL/dynamic-security/v1`` (``{"commands": [...]}``) and
answers on ``.../response`` (``{"responses": [...]}``), each answer carrying the request's
``correlationData``. This module says *what* each account may do; :mod:`api.broker.dynsec`
sends it.

Why every grant is spelled out: the plugin's default ACL access (set by ``dynsec init`` and
kept by ``homevitals broker init``) denies publish and subscribe, so an account may do only
what its role lists. Subscriptions are checked at SUBSCRIBE time, and ``$share/GROUP/FILTER``
is checked as that literal filter (tests/deploy/test_dynsec_observed.py), so a gateway whose
role grants just its own acks topic can never join the ingest group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from homevitals.contract.acks import acks_topic
from homevitals.contract.models import (
    READINGS_SUBSCRIPTION,
    STATUS_SUBSCRIPTION,
    readings_topic,
    status_topic,
)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"

GATEWAY_ROLE_PREFIX = "gateway-"
GATEWAY_CLIENT_ID_PREFIX = "homevitals-gateway-"  # gateway/settings.py's default client id
INGEST_ROLE = "hub-ingest"
ADMIN_ROLE = "admin"  # the role `mosquitto_ctrl dynsec init` gives the admin account

# The filters every gateway role refuses ahead of anything granted (higher priority first):
# a later hand-made grant can't open the ingest group or the broker's own topics by accident.
DENY_PRIORITY = 100
GRANT_PRIORITY = 0


class AclType(StrEnum):
    PUBLISH_SEND = "publishClientSend"  # the client may publish on the topic
    PUBLISH_RECEIVE = "publishClientReceive"  # the broker may deliver the topic to the client
    SUBSCRIBE_LITERAL = "subscribeLiteral"  # the filter, compared as a string
    SUBSCRIBE_PATTERN = "subscribePattern"  # the filter, matched with + and #
    UNSUBSCRIBE_LITERAL = "unsubscribeLiteral"
    UNSUBSCRIBE_PATTERN = "unsubscribePattern"


@dataclass(frozen=True, slots=True)
class Acl:
    acltype: AclType
    topic: str
    allow: bool
    priority: int = GRANT_PRIORITY

    def to_json(self) -> dict[str, Any]:
        return {
            "acltype": str(self.acltype), "topic": self.topic, "allow": self.allow, "priority": self.priority
        }


@dataclass(frozen=True, slots=True)
class GatewayBrokerAccount:
    """What a gateway logs in with (its password is the caller's to hand over, once)."""

    gateway_id: str
    username: str
    client_id: str
    role: str


def gateway_role_name(gateway_id: str) -> str:
    return f"{GATEWAY_ROLE_PREFIX}{gateway_id}"


def gateway_client_id(gateway_id: str) -> str:
    return f"{GATEWAY_CLIENT_ID_PREFIX}{gateway_id}"


def gateway_account(gateway_id: str) -> GatewayBrokerAccount:
    """The user name is the gateway id (the ids' pattern has no ``_``, so no hub account is one)."""
    return GatewayBrokerAccount(
        gateway_id=gateway_id,
        username=gateway_id,
        client_id=gateway_client_id(gateway_id),
        role=gateway_role_name(gateway_id),
    )


def gateway_acls(gateway_id: str) -> list[Acl]:
    """Publish its own readings and status, subscribe to its own acks: nothing else."""
    return [
        Acl(AclType.SUBSCRIBE_PATTERN, "$share/#", allow=False, priority=DENY_PRIORITY),
        Acl(AclType.SUBSCRIBE_PATTERN, "$CONTROL/#", allow=False, priority=DENY_PRIORITY),
        Acl(AclType.PUBLISH_SEND, "$CONTROL/#", allow=False, priority=DENY_PRIORITY),
        Acl(AclType.PUBLISH_SEND, readings_topic(gateway_id), allow=True),
        Acl(AclType.PUBLISH_SEND, status_topic(gateway_id), allow=True),
        Acl(AclType.SUBSCRIBE_LITERAL, acks_topic(gateway_id), allow=True),
    ]


def ingest_acls(share_group: str) -> list[Acl]:
    """Every gateway's readings through the shared group, their status, and publish acks."""
    return [
        Acl(AclType.SUBSCRIBE_LITERAL, f"$share/{share_group}/{READINGS_SUBSCRIPTION}", allow=True),
        Acl(AclType.SUBSCRIBE_LITERAL, STATUS_SUBSCRIPTION, allow=True),
        Acl(AclType.PUBLISH_SEND, acks_topic("+"), allow=True),
    ]


def admin_acls() -> list[Acl]:
    """The admin manages accounts and reads nothing else (``dynsec init`` also grants ``#``)."""
    control = "$CONTROL/dynamic-security/#"
    return [
        Acl(AclType.PUBLISH_SEND, control, allow=True),
        Acl(AclType.PUBLISH_RECEIVE, control, allow=True),
        Acl(AclType.SUBSCRIBE_PATTERN, control, allow=True),
    ]


def create_role(rolename: str, acls: list[Acl]) -> dict[str, Any]:
    return {"command": "createRole", "rolename": rolename, "acls": [acl.to_json() for acl in acls]}


def modify_role(rolename: str, acls: list[Acl]) -> dict[str, Any]:
    """Replaces the role's whole ACL list."""
    return {"command": "modifyRole", "rolename": rolename, "acls": [acl.to_json() for acl in acls]}


def create_client(username: str, password: str, client_id: str | None, roles: list[str]) -> dict[str, Any]:
    command: dict[str, Any] = {
        "command": "createClient",
        "username": username,
        "password": password,
        "roles": [{"rolename": role} for role in roles],
    }
    if client_id is not None:
        command["clientid"] = client_id
    return command


def modify_client(username: str, password: str, client_id: str | None, roles: list[str]) -> dict[str, Any]:
    """Sets password, bound client id and roles; the broker disconnects the client's live sessions."""
    command = create_client(username, password, client_id, roles)
    command["command"] = "modifyClient"
    return command


def delete_client(username: str) -> dict[str, Any]:
    return {"command": "deleteClient", "username": username}


def delete_role(rolename: str) -> dict[str, Any]:
    return {"command": "deleteRole", "rolename": rolename}


def set_client_password(username: str, password: str) -> dict[str, Any]:
    return {"command": "setClientPassword", "username": username, "password": password}


def list_clients() -> dict[str, Any]:
    # count -1: every client; verbose: with their roles, so gateways are told apart by role.
    return {"command": "listClients", "verbose": True, "count": -1, "offset": 0}


def set_default_acl_access() -> dict[str, Any]:
    """Deny by default: publish and subscribe only where a role grants it."""
    return {
        "command": "setDefaultACLAccess",
        "acls": [
            {"acltype": "publishClientSend", "allow": False},
            {"acltype": "publishClientReceive", "allow": True},
            {"acltype": "subscribe", "allow": False},
            {"acltype": "unsubscribe", "allow": True},
        ],
    }


def encode_request(command: dict[str, Any], correlation: str) -> bytes:
    return json.dumps({"commands": [{**command, "correlationData": correlation}]}).encode()


@dataclass(frozen=True, slots=True)
class Response:
    command: str
    correlation: str | None
    error: str | None
    data: dict[str, Any]


def decode_responses(payload: bytes) -> list[Response]:
    """The answers in one response message; malformed parts are skipped (they match no request)."""
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return []
    entries = document.get("responses") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return []
    answers: list[Response] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("command"), str):
            continue
        correlation = entry.get("correlationData")
        error = entry.get("error")
        data = entry.get("data")
        answers.append(
            Response(
                command=entry["command"],
                correlation=correlation if isinstance(correlation, str) else None,
                error=error if isinstance(error, str) else None,
                data=data if isinstance(data, dict) else {},
            )
        )
    return answers


def gateway_usernames(listing: dict[str, Any]) -> list[str]:
    """From a verbose listClients answer: the accounts that hold their own gateway role."""
    found: list[str] = []
    for client in listing.get("clients", []):
        if not isinstance(client, dict):
            continue
        username = client.get("username")
        roles = {role.get("rolename") for role in client.get("roles", []) if isinstance(role, dict)}
        if isinstance(username, str) and gateway_role_name(username) in roles:
            found.append(username)
    return sorted(found)
