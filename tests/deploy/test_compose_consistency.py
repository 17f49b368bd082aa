"""docker-compose.yml agrees with the code it runs.

Commands exist in the ``homevitals`` CLI, environment variables are fields of the settings
class of the service that reads them (and the values validate), volumes, networks, ports,
mounts and healthchecks refer to things that exist, credentials given to a client are the
ones its server is given, and every variable is documented in .env.example.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
from deploy_support import (
    COMPOSE_FILE,
    DEPLOY,
    REPO_ROOT,
    env_example_variables,
    environment_of,
    interpolations,
    load_script_module,
)
from pydantic_settings import BaseSettings

from api.broker.bootstrap import ingest_username
from api.broker.commands import gateway_client_id
from api.broker.settings import BrokerAdminSettings
from api.settings import ApiSettings
from gateway.settings import GatewaySettings
from homevitals.cli import build_app
from homevitals.contract.models import is_valid_gateway_id
from homevitals.settings import DatabaseSettings
from ingest.settings import IngestSettings
from web.settings import WebSettings

roles_script = load_script_module(DEPLOY / "db" / "create_login_roles.py", "create_login_roles")

# What reads the environment of a container that runs `homevitals <group> <command>`.
SETTINGS_OF_COMMAND: dict[tuple[str, ...], tuple[type[BaseSettings], ...]] = {
    ("gateway", "run"): (GatewaySettings,),
    ("ingest", "run"): (IngestSettings,),
    ("api", "run"): (ApiSettings, WebSettings, BrokerAdminSettings),  # the last for enrollment
    ("db", "migrate"): (DatabaseSettings, roles_script.LoginRolesSettings),
    ("broker", "init"): (BrokerAdminSettings,),
}
SETTINGS_PREFIXES = ("GATEWAY_", "INGEST_", "API_", "HOMEVITALS_")
ONE_SHOT = {"mosquitto-init", "broker-init", "migrate"}


# ---- helpers -------------------------------------------------------------------------------
def shell_lines(service: dict[str, Any]) -> list[list[str]]:
    """The command lines a service runs: its command, or each line of an `sh -c` script."""
    command = service.get("command")
    if command is None:
        return []
    words = shlex.split(command) if isinstance(command, str) else [str(word) for word in command]
    if len(words) >= 3 and words[0] in {"sh", "bash", "/bin/sh"} and words[1].startswith("-") and "c" in words[1]:
        return [shlex.split(line) for line in words[2].splitlines() if line.strip()]
    return [words]


def healthcheck_lines(service: dict[str, Any]) -> list[list[str]]:
    test = [str(word) for word in service.get("healthcheck", {}).get("test", [])]
    if test[:1] == ["CMD"]:
        return [test[1:]]
    if test[:1] == ["CMD-SHELL"]:
        words = shlex.split(test[1].replace("$$", "$"))
        ends = [i for i, word in enumerate(words) if word in {">", "|", "||", "&&", ";"}]
        return [words[: ends[0]] if ends else words]
    return []


def homevitals_invocations(service: dict[str, Any], *, healthcheck: bool = False) -> list[list[str]]:
    lines = shell_lines(service) + (healthcheck_lines(service) if healthcheck else [])
    return [line[1:] for line in lines if line and line[0] == "homevitals"]


def resolve_cli_command(words: list[str]) -> tuple[Any, list[str]]:
    """Walk the CLI's groups along the words; returns the command and the remaining words.

    (Typer ships its own copy of click, so groups are recognised by their ``commands``.)
    """
    command: Any = typer.main.get_command(build_app())
    rest = list(words)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, f"'homevitals {' '.join(words)}': no command {name!r}"
        command = command.commands[name]
    return command, rest


def accepted_env_names(settings_class: type[BaseSettings]) -> set[str]:
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    names = set()
    for name, field in settings_class.model_fields.items():
        alias = field.validation_alias or field.alias
        names.add(alias.upper() if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def command_line_overrides(service: dict[str, Any], settings_class: type[BaseSettings]) -> dict[str, str]:
    """Options of the service's command that name a setting (``--ble-backend simulator``)."""
    overrides = {}
    for words in homevitals_invocations(service):
        for option, value in zip(words, [*words[1:], ""], strict=True):
            field = option.removeprefix("--").replace("-", "_")
            if option.startswith("--") and field in settings_class.model_fields:
                overrides[field] = value
    return overrides


def settings_classes(service: dict[str, Any]) -> tuple[type[BaseSettings], ...]:
    classes: tuple[type[BaseSettings], ...] = ()
    for words in homevitals_invocations(service):
        classes += SETTINGS_OF_COMMAND.get(tuple(words[:2]), ())
    return classes


def bind_mounts(service: dict[str, Any]) -> dict[PurePosixPath, Path]:
    """Container path -> repository path of every bind mount of a service."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[PurePosixPath(target)] = (REPO_ROOT / source).resolve()
    return mounts


def named_volumes(service: dict[str, Any]) -> set[str]:
    return {v.split(":")[0] for v in service.get("volumes", []) if not v.split(":")[0].startswith((".", "/"))}


def networks_of(service: dict[str, Any]) -> set[str]:
    networks = service.get("networks", ["default"])
    return set(networks if isinstance(networks, list) else networks.keys())


def healthcheck_port(service: dict[str, Any]) -> int | None:
    test = " ".join(map(str, service.get("healthcheck", {}).get("test", [])))
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", test)
    return int(match.group(1)) if match else None


def published_container_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(port).rsplit(":", 1)[-1].split("/")[0]) for port in service.get("ports", [])}


# ---- commands ------------------------------------------------------------------------------
def test_every_homevitals_command_exists_with_its_options(services: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, service in services.items():
        for words in homevitals_invocations(service, healthcheck=True):
            command, rest = resolve_cli_command(words)
            assert not hasattr(command, "commands"), f"{name}: 'homevitals {' '.join(words)}' is a group"
            parameters = {
                opt: param for param in command.params for opt in [*param.opts, *getattr(param, "secondary_opts", [])]
            }
            while rest:
                option = rest.pop(0)
                assert option in parameters, f"{name}: {command.name} has no option {option}"
                if parameters[option].param_type_name == "option" and not parameters[option].is_flag:
                    rest.pop(0)  # its value; the settings test below validates it
            checked += 1
    assert checked >= 10  # migrate, two ingest workers, api, three homes and their healthchecks


def test_the_commands_the_issue_asks_for_are_there(services: dict[str, dict[str, Any]]) -> None:
    invocations = {" ".join(words[:2]) for s in services.values() for words in homevitals_invocations(s)}
    assert {"db migrate", "ingest run", "api run", "gateway run"} <= invocations
    for home in ("sim-home-1", "sim-home-2", "sim-home-3"):
        (words,) = homevitals_invocations(services[home])
        assert words[:5] == ["gateway", "run", "--ble-backend", "simulator", "--scenario"]


def test_help_of_every_command_runs(services: dict[str, dict[str, Any]]) -> None:
    """What an operator types to read about a service works (the extras are importable)."""
    from typer.testing import CliRunner

    runner = CliRunner()
    for words in {tuple(w[:2]) for s in services.values() for w in homevitals_invocations(s, healthcheck=True)}:
        result = runner.invoke(build_app(), [*words, "--help"])
        assert result.exit_code == 0, f"homevitals {' '.join(words)} --help: {result.output}"


def test_files_used_by_commands_exist_in_the_repository(
    resolved_services: dict[str, dict[str, Any]],
) -> None:
    """Paths in commands and entrypoints point into a bind mount, at a file that exists."""
    checked = 0
    for name, service in resolved_services.items():
        mounts = bind_mounts(service)
        entrypoint = service.get("entrypoint", [])
        words = [str(w) for w in (entrypoint if isinstance(entrypoint, list) else shlex.split(entrypoint))]
        words += [w for line in shell_lines(service) for w in line]
        for word in words:
            if not word.startswith("/") or word.startswith(("/bin/", "/usr/")):
                continue
            path = PurePosixPath(word)
            owners = [target for target in mounts if path.is_relative_to(target)]
            assert owners, f"{name}: {word} is not inside a bind mount of this service"
            source = mounts[owners[0]] / path.relative_to(owners[0])
            assert source.is_file(), f"{name}: {word} would be {source}, which does not exist"
            checked += 1
    assert checked >= 5  # dynsec-init.sh, create_login_roles.py, the three scenarios


# ---- environment -> settings ---------------------------------------------------------------
def test_every_service_variable_is_a_setting_of_that_service(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        classes = settings_classes(service)
        accepted = set().union(*(accepted_env_names(cls) for cls in classes)) if classes else set()
        for variable in environment_of(service):
            if not variable.startswith(SETTINGS_PREFIXES):
                continue
            if name in {"mosquitto-init", "grafana"}:
                continue  # read by dynsec-init.sh and by the Grafana provisioning, checked below
            assert variable in accepted, (
                f"{name}: {variable} is not a setting of {[c.__name__ for c in classes] or 'any service'}"
            )


def test_every_setting_service_gets_its_environment_name_right(services: dict[str, dict[str, Any]]) -> None:
    """The negative control of the test above: a misspelt name is not accepted."""
    assert "INGEST_MQTT_HOST" in accepted_env_names(IngestSettings)
    assert "INGEST_MQTT_HOSTNAME" not in accepted_env_names(IngestSettings)
    assert "GATEWAY_ID" in accepted_env_names(GatewaySettings)
    assert "API_JWT_SECRET" in accepted_env_names(ApiSettings)
    assert "HOMEVITALS_DATABASE_URL" in accepted_env_names(DatabaseSettings)


@pytest.mark.parametrize(
    "service_name", ["ingest-1", "ingest-2", "api", "sim-home-1", "sim-home-2", "sim-home-3", "migrate", "broker-init"]
)
def test_the_settings_accept_the_values_in_production(
    service_name: str, resolved_services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each service's settings load from its compose environment, in production mode,
    and pass the service's own secret checks."""
    service = resolved_services[service_name]
    for variable in list(__import__("os").environ):
        if variable.startswith(SETTINGS_PREFIXES):
            monkeypatch.delenv(variable)
    for variable, value in environment_of(service).items():
        if value is not None:
            monkeypatch.setenv(variable, value)
    for settings_class in settings_classes(service):
        settings: Any = settings_class(**command_line_overrides(service, settings_class))
        if hasattr(settings, "environment"):
            assert settings.environment == "production", f"{service_name}: not in production mode by default"
        if isinstance(settings, GatewaySettings):
            assert settings.ble_backend == "simulator"
            settings.check_secrets()
            assert settings.gateway_id == environment_of(service)["GATEWAY_ID"]
        if isinstance(settings, ApiSettings):
            settings.verifier_config()
            assert settings.enrollment_policy().mqtt_tls  # what enrolled gateways are told
        if isinstance(settings, WebSettings):
            settings.check()
        if isinstance(settings, BrokerAdminSettings):
            settings.admin()  # the admin password passes the secret checks
            if service_name == "broker-init":
                assert len(settings.hub_accounts().gateways) == 3
        if isinstance(settings, roles_script.LoginRolesSettings):
            for role in roles_script.LOGIN_ROLES:
                roles_script.check_password(settings, role, settings.password_for(role))


# ---- credentials: what a client gets is what its server gets -------------------------------
def _db_url(resolved: dict[str, Any], variable: str) -> Any:
    return urlsplit(environment_of(resolved)[variable] or "")


def test_database_clients_use_the_login_users_the_migrate_job_creates(
    services: dict[str, dict[str, Any]], resolved_services: dict[str, dict[str, Any]]
) -> None:
    migrate = environment_of(resolved_services["migrate"])
    by_group = {role.group: role for role in roles_script.LOGIN_ROLES}
    clients = {
        "ingest-1": ("INGEST_DATABASE_URL", "homevitals_ingest"),
        "ingest-2": ("INGEST_DATABASE_URL", "homevitals_ingest"),
        "api": ("API_DATABASE_URL", "homevitals_api"),
    }
    for name, (variable, group) in clients.items():
        url = _db_url(resolved_services[name], variable)
        role = by_group[group]
        assert url.username == role.user, f"{name} logs in as {url.username}, the job creates {role.user}"
        assert url.password == migrate[role.setting], f"{name}'s password is not the one the job sets"
        assert (url.hostname, url.port, url.path) == ("timescaledb", 5432, "/homevitals")
        assert "db" in networks_of(services[name]) & networks_of(services["timescaledb"])
    superuser = urlsplit(migrate["HOMEVITALS_DATABASE_URL"] or "")
    timescaledb = environment_of(resolved_services["timescaledb"])
    assert superuser.username == timescaledb["POSTGRES_USER"]
    assert superuser.password == timescaledb["POSTGRES_PASSWORD"]
    assert superuser.path.lstrip("/") == timescaledb["POSTGRES_DB"]
    grafana = environment_of(resolved_services["grafana"])
    reader = by_group["homevitals_grafana"]
    assert reader.user in grafana.values()
    assert migrate[reader.setting] in grafana.values(), "Grafana does not get grafana_reader's password"


def _broker_init() -> BrokerAdminSettings:
    return BrokerAdminSettings.model_construct()


def test_mqtt_clients_use_the_accounts_the_broker_gets(
    services: dict[str, dict[str, Any]], resolved_services: dict[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every MQTT client logs in with an account broker-init makes, bound to the client id it uses."""
    init_env = environment_of(resolved_services["broker-init"])
    for variable, value in init_env.items():
        if value is not None:
            monkeypatch.setenv(variable, value)
    init = BrokerAdminSettings()
    accounts = init.hub_accounts()
    assert (init.host, init.port) == ("mosquitto", 1883)
    assert init.admin_password is not None
    assert init.admin_password.get_secret_value() == environment_of(resolved_services["mosquitto"])["MQTT_ADMIN_PASSWORD"]
    assert init.admin_password.get_secret_value() == environment_of(resolved_services["mosquitto-init"])["MQTT_ADMIN_PASSWORD"]

    homes = [name for name, s in services.items() if settings_classes(s) == (GatewaySettings,)]
    assert len(homes) >= 2, "several simulated homes"
    gateway_ids = set()
    for home in homes:
        env = environment_of(resolved_services[home])
        gateway_id = env["GATEWAY_ID"] or ""
        assert is_valid_gateway_id(gateway_id), f"{home}: {gateway_id!r} is not a gateway id"
        assert env["GATEWAY_MQTT_USERNAME"] == gateway_id, "a gateway's account is named after its id"
        assert env.get("GATEWAY_MQTT_CLIENT_ID") is None, "the default client id is the one bound to the account"
        password = accounts.gateways.get(gateway_id)
        assert password is not None and password.get_secret_value() == env["GATEWAY_MQTT_PASSWORD"], (
            f"{home}: no matching broker account"
        )
        assert (env["GATEWAY_MQTT_HOST"], env["GATEWAY_MQTT_PORT"]) == ("mosquitto", "1883")
        assert networks_of(services[home]) & networks_of(services["mosquitto"])
        assert "db" not in networks_of(services[home]), "a gateway must not reach the database"
        gateway_ids.add(gateway_id)
    assert len(gateway_ids) == len(homes), "every home has its own gateway id"
    assert gateway_client_id("sim-home-1") == "homevitals-gateway-sim-home-1"  # GatewaySettings' default
    volumes = [named_volumes(services[home]) for home in homes]
    assert all(len(v) == 1 for v in volumes) and len(set.union(*volumes)) == len(homes), "own outbox volume each"

    client_ids = set()
    for worker in ("ingest-1", "ingest-2"):
        env = environment_of(resolved_services[worker])
        client_id = env["INGEST_MQTT_CLIENT_ID"]
        assert client_id in accounts.ingest_client_ids, f"{worker}: {client_id} has no ingest account"
        assert env["INGEST_MQTT_USERNAME"] == ingest_username(accounts.ingest_client_ids.index(client_id) + 1), (
            f"{worker}: the account bound to {client_id} is another"
        )
        assert env["INGEST_MQTT_PASSWORD"] == accounts.ingest_password.get_secret_value()
        assert (env["INGEST_MQTT_HOST"], env["INGEST_MQTT_PORT"]) == ("mosquitto", "1883")
        assert env["INGEST_MQTT_SHARE_GROUP"] == accounts.share_group
        client_ids.add(client_id)
    assert len(client_ids) == 2, "each ingest worker needs its own client id"
    assert "mqtt" in networks_of(services["broker-init"]) & networks_of(services["mosquitto"])


def test_the_broker_listens_where_clients_connect() -> None:
    config = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    assert re.search(r"^listener 1883$", config, re.MULTILINE)
    assert re.search(r"^allow_anonymous false$", config, re.MULTILINE)
    assert re.search(r"^plugin /usr/lib/mosquitto_dynamic_security\.so$", config, re.MULTILINE)
    assert re.search(r"^plugin_opt_config_file /mosquitto/dynsec/dynamic-security\.json$", config, re.MULTILINE)
    assert not re.search(r"^(password_file|acl_file)", config, re.MULTILINE), "dynsec only: no acl_file set-up"
    for limit in ("max_inflight_messages 0", "max_queued_messages 0", "max_queued_bytes 0"):
        assert re.search(rf"^{limit}$", config, re.MULTILINE), f"{limit}: QoS 1 messages could be dropped"


# ---- ports and healthchecks ----------------------------------------------------------------
def test_ports_match_what_the_services_listen_on(resolved_services: dict[str, dict[str, Any]]) -> None:
    api = environment_of(resolved_services["api"])
    assert published_container_ports(resolved_services["api"]) == {int(api["API_PORT"] or 0)}
    assert healthcheck_port(resolved_services["api"]) == int(api["API_PORT"] or 0)
    assert api["API_HOST"] == "0.0.0.0", "inside a container the API must listen on all interfaces"
    for worker in ("ingest-1", "ingest-2"):
        env = environment_of(resolved_services[worker])
        assert healthcheck_port(resolved_services[worker]) == int(env["INGEST_METRICS_PORT"] or 0)
    assert published_container_ports(resolved_services["mosquitto"]) == {1883, 8883}
    assert "listener 8883" in (DEPLOY / "mosquitto" / "tls.conf.example").read_text()
    assert published_container_ports(resolved_services["grafana"]) == {3000}
    assert published_container_ports(resolved_services["timescaledb"]) == {5432}


def test_no_two_services_publish_the_same_host_port(resolved_services: dict[str, dict[str, Any]]) -> None:
    seen: dict[str, str] = {}
    for name, service in resolved_services.items():
        for port in service.get("ports", []):
            host_part = str(port).rsplit(":", 1)[0]
            host_port = host_part.rsplit(":", 1)[-1]
            assert host_port not in seen, f"{name} and {seen.get(host_port)} both publish {host_port}"
            seen[host_port] = name


def test_database_and_plain_mqtt_are_not_published_to_the_world(resolved_services: dict[str, dict[str, Any]]) -> None:
    (db_port,) = resolved_services["timescaledb"]["ports"]
    assert db_port.startswith("127.0.0.1:")
    plain = [p for p in resolved_services["mosquitto"]["ports"] if p.endswith(":1883")]
    assert plain and plain[0].startswith("127.0.0.1:"), "by default plain MQTT is local only"


def test_healthchecks_restart_policies_and_dependencies(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "restart" in service, f"{name}: no restart policy"
        if name in ONE_SHOT:
            assert service["restart"] == "no", f"{name}: a one-shot job must not restart"
        else:
            assert service["restart"] == "unless-stopped", f"{name}: long-running services restart"
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s health, it has none"
            elif condition == "service_completed_successfully":
                assert dependency in ONE_SHOT
            else:
                pytest.fail(f"{name}: depends_on {dependency} with {condition}; wait for health or completion")
    for name in (n for n in services if n not in ONE_SHOT):
        assert "healthcheck" in services[name], f"{name}: no healthcheck"


def test_the_start_order(services: dict[str, dict[str, Any]]) -> None:
    def waits_for(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name].get("depends_on", {}).items()}

    assert waits_for("mosquitto") == {"mosquitto-init": "service_completed_successfully"}
    assert waits_for("broker-init") == {"mosquitto": "service_healthy"}
    assert waits_for("migrate") == {"timescaledb": "service_healthy"}
    for worker in ("ingest-1", "ingest-2"):
        assert waits_for(worker) == {
            "mosquitto": "service_healthy", "broker-init": "service_completed_successfully",
            "migrate": "service_completed_successfully",
        }
    for home in ("sim-home-1", "sim-home-2", "sim-home-3"):
        assert waits_for(home) == {"mosquitto": "service_healthy", "broker-init": "service_completed_successfully"}
    assert waits_for("api") == {"migrate": "service_completed_successfully"}
    assert waits_for("grafana") == {"migrate": "service_completed_successfully"}


# ---- volumes, networks, mounts, images -----------------------------------------------------
def test_volumes_and_networks_are_defined_and_used(compose: dict[str, Any]) -> None:
    services = compose["services"]
    used_volumes = set().union(*(named_volumes(s) for s in services.values()))
    assert used_volumes == set(compose["volumes"]), "every named volume is defined, every defined one used"
    used_networks = set().union(*(networks_of(s) for n, s in services.items() if "network_mode" not in s))
    assert used_networks == set(compose["networks"])
    for name in ("timescaledb", "mosquitto", "grafana"):
        assert named_volumes(services[name]), f"{name} keeps its state in a named volume"


def test_bind_mounts_exist_in_the_repository(resolved_services: dict[str, dict[str, Any]]) -> None:
    for name, service in resolved_services.items():
        for volume in service.get("volumes", []):
            source, _, rest = volume.partition(":")
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
                assert rest.endswith(":ro"), f"{name}: repository files are mounted read-only"


def test_images_are_pinned_and_build_targets_exist(resolved_services: dict[str, dict[str, Any]]) -> None:
    dockerfile_targets: dict[Path, set[str]] = {}
    for name, service in resolved_services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":") if "@" not in image else (image, "", "digest")
        assert repository and tag and tag != "latest", f"{name}: image {image} is not pinned"
        build = service.get("build")
        if build is None:
            continue
        dockerfile = (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]).resolve()
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        if dockerfile not in dockerfile_targets:
            dockerfile_targets[dockerfile] = set(
                re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile.read_text(), re.MULTILINE | re.IGNORECASE)
            )
        assert build["target"] in dockerfile_targets[dockerfile], f"{name}: no stage {build['target']}"


def test_official_third_party_images(resolved_services: dict[str, dict[str, Any]]) -> None:
    assert resolved_services["timescaledb"]["image"].startswith("timescale/timescaledb:")
    assert not resolved_services["timescaledb"]["image"].endswith("-oss"), "community edition, not -oss"
    assert resolved_services["mosquitto"]["image"].startswith("eclipse-mosquitto:2")
    assert resolved_services["grafana"]["image"].startswith("grafana/grafana-oss:")
    assert "timescaledb.license=timescale" in resolved_services["timescaledb"]["command"]


def test_scenarios_of_the_simulated_homes_exist(resolved_services: dict[str, dict[str, Any]]) -> None:
    for name, service in resolved_services.items():
        if not name.startswith("sim-home-"):
            continue
        (line,) = shell_lines(service)
        scenario = PurePosixPath(line[line.index("--scenario") + 1])
        (target,) = [t for t in bind_mounts(service) if scenario.is_relative_to(t)]
        assert (bind_mounts(service)[target] / scenario.relative_to(target)).is_file()


# ---- variables and secrets -----------------------------------------------------------------
def test_every_variable_is_documented_in_env_example(compose: dict[str, Any]) -> None:
    documented = env_example_variables()
    used = {variable for variable, _, _ in interpolations(compose)}
    passed_through = {
        variable
        for service in compose["services"].values()
        for variable, value in environment_of(service).items()
        if value is None
    }
    assert used | passed_through <= set(documented), f"undocumented: {sorted((used | passed_through) - set(documented))}"
    assert set(documented) <= used | passed_through, f"documented, never used: {sorted(set(documented) - used - passed_through)}"


def test_every_documented_variable_has_a_comment() -> None:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if re.fullmatch(r"#?\s?[A-Z][A-Z0-9_]*=.*", line):
            above = lines[:index]
            comment = next((text for text in reversed(above) if not re.fullmatch(r"#?\s?[A-Z][A-Z0-9_]*=.*", text)), "")
            assert comment.startswith("# ") and len(comment) > 10, f".env.example: {line} has no explanation"


def test_secrets_have_no_defaults(compose: dict[str, Any]) -> None:
    documented = env_example_variables()
    secrets = {variable for variable, value in documented.items() if value == ""}
    assert {"POSTGRES_PASSWORD", "API_JWT_SECRET", "GRAFANA_ADMIN_PASSWORD", "MQTT_INGEST_PASSWORD"} <= secrets
    for variable, operator, _ in interpolations(compose):
        looks_secret = re.search(r"PASSWORD|SECRET|TOKEN|KEY", variable)
        if variable in secrets or looks_secret:
            assert variable in secrets, f"{variable} looks like a secret but .env.example gives it a value"
            assert operator == ":?", f"${{{variable}}} must be written ${{{variable}:?...}}: no default secret"


def test_production_is_the_default_environment(compose: dict[str, Any]) -> None:
    defaults = {argument for variable, op, argument in interpolations(compose) if variable == "HOMEVITALS_ENVIRONMENT"}
    assert defaults == {"production"}
    for name, service in compose["services"].items():
        if settings_classes(service) and name != "migrate":
            prefixes = {cls.model_config.get("env_prefix") for cls in settings_classes(service)}
            for prefix in prefixes:
                assert f"{prefix}ENVIRONMENT" in environment_of(service), f"{name}: {prefix}ENVIRONMENT unset"
