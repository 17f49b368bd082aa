"""api.broker.DynsecAdmin against a real Mosquitto 2 with the dynamic security plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mqtt_probe import BAD_CREDENTIALS, NOT_AUTHORIZED, Probes
from pydantic import SecretStr

from api.broker import BrokerAdminError, BrokerAdminUnavailable, DynsecAdmin
from api.broker.commands import delete_client
from devstack.services.mosquitto import DYNSEC_ADMIN, LocalMosquitto
from homevitals.contract import readings_topic, status_topic
from homevitals.contract.acks import acks_topic

pytestmark = pytest.mark.integration

PASSWORD = SecretStr("gw-password-0123456789")


@pytest.fixture(scope="module")
def broker() -> Iterator[LocalMosquitto]:
    with LocalMosquitto(dynsec=True) as running:
        yield running


@pytest.fixture
def admin(broker: LocalMosquitto) -> Iterator[DynsecAdmin]:
    with DynsecAdmin(
        host="127.0.0.1", port=broker.port, username=DYNSEC_ADMIN, password=SecretStr(broker.admin_password)
    ) as connected:
        yield connected


@pytest.fixture
def probes(broker: LocalMosquitto) -> Iterator[Probes]:
    made = Probes(broker.port)
    yield made
    made.close()


def test_a_provisioned_gateway_may_use_its_own_topics_only(admin: DynsecAdmin, probes: Probes) -> None:
    account = admin.provision_gateway("gw-prov-1", PASSWORD)
    assert (account.username, account.client_id) == ("gw-prov-1", "homevitals-gateway-gw-prov-1")
    admin.provision_gateway("gw-prov-2", PASSWORD)

    gateway = probes.connect("gw-prov-1", PASSWORD.get_secret_value(), account.client_id)
    assert gateway.accepted
    assert not gateway.subscribe(acks_topic("gw-prov-1")).is_failure
    assert not gateway.publish(readings_topic("gw-prov-1")).is_failure
    assert not gateway.publish(status_topic("gw-prov-1"), retain=True).is_failure
    assert gateway.subscribe(acks_topic("gw-prov-2")).value == NOT_AUTHORIZED
    assert gateway.subscribe("$share/ingest/homevitals/v1/gateways/+/readings").value == NOT_AUTHORIZED
    assert gateway.subscribe("#").value == NOT_AUTHORIZED
    assert gateway.publish(readings_topic("gw-prov-2")).value == NOT_AUTHORIZED


def test_the_account_is_bound_to_the_gateways_client_id(admin: DynsecAdmin, probes: Probes) -> None:
    admin.provision_gateway("gw-bound", PASSWORD)
    assert probes.connect("gw-bound", PASSWORD.get_secret_value(), "anything-else").connack.value == NOT_AUTHORIZED


def test_provisioning_again_rotates_the_password_and_drops_the_old_session(
    admin: DynsecAdmin, probes: Probes
) -> None:
    account = admin.provision_gateway("gw-rotate", PASSWORD)
    old = probes.connect(account.username, PASSWORD.get_secret_value(), account.client_id)
    assert old.accepted
    new_password = SecretStr("gw-rotated-9876543210")
    admin.provision_gateway("gw-rotate", new_password)
    old.wait_disconnected()
    assert probes.connect(account.username, PASSWORD.get_secret_value(), account.client_id).connack.value in (
        BAD_CREDENTIALS, NOT_AUTHORIZED,
    )
    assert probes.connect(account.username, new_password.get_secret_value(), account.client_id).accepted


def test_revoking_disconnects_the_gateway_at_once_and_refuses_it_after(
    admin: DynsecAdmin, probes: Probes
) -> None:
    account = admin.provision_gateway("gw-revoked", PASSWORD)
    connected = probes.connect(account.username, PASSWORD.get_secret_value(), account.client_id)
    assert connected.accepted
    assert "gw-revoked" in admin.gateway_accounts()

    admin.revoke_gateway("gw-revoked")
    connected.wait_disconnected()
    again = probes.connect(account.username, PASSWORD.get_secret_value(), account.client_id)
    assert again.connack.value in (BAD_CREDENTIALS, NOT_AUTHORIZED)
    assert "gw-revoked" not in admin.gateway_accounts()
    admin.revoke_gateway("gw-revoked")  # idempotent


def test_gateway_accounts_lists_gateways_not_hub_accounts(admin: DynsecAdmin) -> None:
    admin.provision_gateway("gw-listed", PASSWORD)
    listed = admin.gateway_accounts()
    assert "gw-listed" in listed
    assert DYNSEC_ADMIN not in listed


def test_a_refused_command_raises_with_the_command_and_the_plugins_words(admin: DynsecAdmin) -> None:
    with pytest.raises(BrokerAdminError) as refused:
        admin.call(delete_client("nobody-here"))
    assert refused.value.command == "deleteClient"
    assert refused.value.error == "Client not found"


def test_an_invalid_gateway_id_is_refused_before_the_broker_is_asked(admin: DynsecAdmin) -> None:
    with pytest.raises(BrokerAdminError, match="not a gateway id"):
        admin.provision_gateway("gw/+/#", PASSWORD)


def test_a_wrong_admin_password_is_a_clear_error(broker: LocalMosquitto) -> None:
    with pytest.raises(BrokerAdminUnavailable, match="admin password"), DynsecAdmin(
        host="127.0.0.1", port=broker.port, username=DYNSEC_ADMIN, password=SecretStr("wrong"), timeout=3
    ):
        pass


# ---- homevitals broker init / gateways / set-password ------------------------------------------
def _cli(broker: LocalMosquitto, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str):
    from typer.testing import CliRunner

    from api.broker.cli import app

    monkeypatch.setenv("API_BROKER_HOST", "127.0.0.1")
    monkeypatch.setenv("API_BROKER_PORT", str(broker.port))
    monkeypatch.setenv("API_BROKER_ADMIN_PASSWORD", broker.admin_password)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(app, list(args))


def test_broker_init_makes_the_hub_accounts_and_runs_again_unchanged(
    broker: LocalMosquitto, probes: Probes, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "API_BROKER_INGEST_PASSWORD": "ingest-0123456789abcdef",
        "API_BROKER_INGEST_CLIENT_IDS": '["cli-ingest-1", "cli-ingest-2"]',
        "API_BROKER_GATEWAY_ACCOUNTS": "gw-cli-home:home-0123456789abcdef\n",
    }
    for _ in range(2):
        result = _cli(broker, monkeypatch, "init", "--wait", "0", **env)
        assert result.exit_code == 0, result.output
    assert "hub_ingest_2 (client id cli-ingest-2): updated" in result.output
    assert probes.connect("hub_ingest_2", "ingest-0123456789abcdef", "cli-ingest-2").accepted
    assert probes.connect("hub_ingest_2", "ingest-0123456789abcdef", "cli-ingest-1").connack.value == NOT_AUTHORIZED
    assert probes.connect("gw-cli-home", "home-0123456789abcdef", "homevitals-gateway-gw-cli-home").accepted
    listed = _cli(broker, monkeypatch, "gateways")
    assert "gw-cli-home" in listed.output.split()


def test_broker_init_says_what_is_missing_or_wrong(broker: LocalMosquitto, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = _cli(broker, monkeypatch, "init", "--wait", "0")
    assert missing.exit_code == 2 and "API_BROKER_INGEST_PASSWORD" in missing.output
    wrong = _cli(broker, monkeypatch, "init", "--wait", "0", API_BROKER_INGEST_PASSWORD="ingest-0123456789abcdef",
                 API_BROKER_ADMIN_PASSWORD="not-the-admin-password")
    assert wrong.exit_code == 1 and "admin password" in wrong.output
    weak = _cli(broker, monkeypatch, "init", "--wait", "0", API_BROKER_ENVIRONMENT="production",
                API_BROKER_INGEST_PASSWORD="changeme")
    assert weak.exit_code == 2 and "published default" in weak.output


def test_set_password_gives_an_account_a_new_one(
    broker: LocalMosquitto, admin: DynsecAdmin, probes: Probes, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = admin.provision_gateway("gw-cli-rotate", PASSWORD)
    result = _cli(broker, monkeypatch, "set-password", account.username, API_BROKER_NEW_PASSWORD="rotated-0123456789ab")
    assert result.exit_code == 0, result.output
    assert probes.connect(account.username, "rotated-0123456789ab", account.client_id).accepted
    assert probes.connect(account.username, PASSWORD.get_secret_value(), account.client_id).connack.is_failure


def test_a_broker_without_the_plugin_is_a_timeout_that_says_so() -> None:
    from api.broker import BrokerAdminTimeout
    from api.broker.commands import list_clients

    with LocalMosquitto() as plain, DynsecAdmin(  # anonymous, no dynamic security plugin
        host="127.0.0.1", port=plain.port, username="hub_admin", password=SecretStr("x"), timeout=1
    ) as admin, pytest.raises(BrokerAdminTimeout, match=r"mosquitto_dynamic_security\.so") as timed_out:
        admin.call(list_clients())
    assert (timed_out.value.command, timed_out.value.timeout_s) == ("listClients", 1)
