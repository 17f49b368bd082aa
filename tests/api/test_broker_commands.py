"""The dynamic-security requests the hub sends, and how it reads the answers (no broker)."""

from __future__ import annotations

import json

import pytest

from api.broker import commands

pytestmark = pytest.mark.unit


def test_a_gateway_role_grants_its_own_topics_and_refuses_share_groups_first() -> None:
    assert [acl.to_json() for acl in commands.gateway_acls("gw-0042")] == [
        {"acltype": "subscribePattern", "topic": "$share/#", "allow": False, "priority": 100},
        {"acltype": "subscribePattern", "topic": "$CONTROL/#", "allow": False, "priority": 100},
        {"acltype": "publishClientSend", "topic": "$CONTROL/#", "allow": False, "priority": 100},
        {"acltype": "publishClientSend", "topic": "homevitals/v1/gateways/gw-0042/readings", "allow": True,
         "priority": 0},
        {"acltype": "publishClientSend", "topic": "homevitals/v1/gateways/gw-0042/status", "allow": True,
         "priority": 0},
        {"acltype": "subscribeLiteral", "topic": "homevitals/v1/gateways/gw-0042/acks", "allow": True,
         "priority": 0},
    ]


def test_the_ingest_role_joins_its_group_reads_status_and_publishes_acks() -> None:
    assert [(a.acltype.value, a.topic, a.allow) for a in commands.ingest_acls("ingest")] == [
        ("subscribeLiteral", "$share/ingest/homevitals/v1/gateways/+/readings", True),
        ("subscribeLiteral", "homevitals/v1/gateways/+/status", True),
        ("publishClientSend", "homevitals/v1/gateways/+/acks", True),
    ]


def test_a_gateway_account_is_named_after_its_id_and_bound_to_the_gateways_client_id() -> None:
    account = commands.gateway_account("gw-0042")
    assert (account.username, account.client_id, account.role) == (
        "gw-0042", "homevitals-gateway-gw-0042", "gateway-gw-0042"
    )


def test_a_request_carries_its_correlation_data() -> None:
    body = commands.encode_request(commands.delete_client("gw-0042"), "c0ffee")
    assert json.loads(body) == {
        "commands": [{"command": "deleteClient", "username": "gw-0042", "correlationData": "c0ffee"}]
    }


def test_a_client_without_a_bound_id_sends_no_clientid() -> None:
    assert "clientid" not in commands.create_client("hub_someone", "pw", None, ["a-role"])
    assert commands.create_client("gw-1", "pw", "homevitals-gateway-gw-1", ["gateway-gw-1"])["clientid"] == (
        "homevitals-gateway-gw-1"
    )


def test_answers_are_read_with_their_errors_and_data() -> None:
    payload = (
        b'{"responses":[{"command":"deleteClient","error":"Client not found","correlationData":"a"},'
        b'{"command":"listClients","data":{"totalCount":1,"clients":[]},"correlationData":"b"}]}'
    )
    first, second = commands.decode_responses(payload)
    assert (first.command, first.correlation, first.error) == ("deleteClient", "a", "Client not found")
    assert (second.correlation, second.error, second.data["totalCount"]) == ("b", None, 1)


@pytest.mark.parametrize(
    "payload", [b"", b"\xff\xfe", b"[]", b'{"responses": 3}', b'{"responses": [1, {"error": "x"}]}']
)
def test_malformed_answers_match_no_request(payload: bytes) -> None:
    assert commands.decode_responses(payload) == []


def test_gateway_accounts_are_those_holding_their_own_gateway_role() -> None:
    listing = {
        "clients": [
            {"username": "hub_admin", "roles": [{"rolename": "admin"}]},
            {"username": "gw-b", "roles": [{"rolename": "gateway-gw-b"}]},
            {"username": "gw-a", "roles": [{"rolename": "gateway-gw-a"}]},
            {"username": "gw-c", "roles": [{"rolename": "gateway-gw-a"}]},  # not its own role
            "garbage",
        ]
    }
    assert commands.gateway_usernames(listing) == ["gw-a", "gw-b"]
