"""Start the hub and the simulated homes, show progress, stop everything on Ctrl-C.

Order: PostgreSQL+TimescaleDB, migrations and login roles, Mosquitto, demo citizens, ingest,
API, one gateway per home (each running the simulator in-process). A second run reuses the
data folder: the cluster, the broker's persistence, the secrets and the citizens.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psycopg
import yaml
from pydantic import SecretStr

from api.broker import DynsecAdmin
from api.broker.bootstrap import HubAccounts, bootstrap, ingest_username
from database.login_roles import LOGIN_ROLES, ensure_login_role
from database.migrate import migrate
from devstack.demo.homes import DemoHome, plan_homes
from devstack.demo.processes import ManagedProcess
from devstack.demo.seed import seed_homes
from devstack.services.mosquitto import DYNSEC_ADMIN, LocalMosquitto
from devstack.services.ports import port_in_use
from devstack.services.postgres import LocalPostgres
from homevitals.errors import HomevitalsError

DEMO_INGEST_CLIENT_ID = "demo-ingest-1"


class DemoError(HomevitalsError):
    """The demo could not start a part. ``hint`` says what to do next."""

    def __init__(self, part: str, problem: str, hint: str) -> None:
        self.part = part
        self.hint = hint
        super().__init__(f"{part}: {problem}\n  next step: {hint}")


@dataclass(frozen=True)
class DemoConfig:
    data_dir: Path
    citizens: int = 20
    speed: float = 600.0
    history_days: int = 7
    postgres_port: int = 55432
    mqtt_port: int = 18830
    api_port: int = 8000
    metrics_port: int = 9108
    duration: float | None = None


def _homevitals() -> str:
    found = shutil.which("homevitals", path=str(Path(sys.executable).parent)) or shutil.which("homevitals")
    if found is None:
        raise DemoError("cli", "the homevitals command is not installed", "run scripts/setup")
    return found


class Demo:
    """One run of the native demo."""

    def __init__(self, config: DemoConfig, say: Callable[[str], None]) -> None:
        self.config = config
        self.say = say
        self.dir = config.data_dir.resolve()
        self.children: list[ManagedProcess] = []
        self.postgres: LocalPostgres | None = None
        self.mosquitto: LocalMosquitto | None = None
        self._stopping = False
        self._step = 0

    # -- helpers -------------------------------------------------------------------------
    def _progress(self, text: str) -> None:
        self._step += 1
        self.say(f"[{self._step}/8] {text}")

    def _secret(self, name: str) -> str:
        path = self.dir / "secrets" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()

    def _check_port(self, port: int, what: str, flag: str) -> None:
        if port_in_use(port):
            raise DemoError(
                what,
                f"port {port} is already in use",
                f"stop what uses it (ss -ltnp 'sport = :{port}') or pass {flag} PORT",
            )

    # -- steps ---------------------------------------------------------------------------
    def start_database(self) -> str:
        self._progress(f"PostgreSQL + TimescaleDB on 127.0.0.1:{self.config.postgres_port}")
        self._check_port(self.config.postgres_port, "postgresql", "--postgres-port")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.postgres = LocalPostgres(self.dir / "pg" / "data", self.config.postgres_port, durable=True)
        self.postgres.start()
        dsn = self.postgres.dsn
        self._progress("database migrations and service roles")
        applied = migrate(dsn)
        self.say(f"      {'applied ' + ', '.join(applied) if applied else 'schema already current'}")
        # The same login users as a deployment (docs/database.md), with the demo's own passwords.
        with psycopg.connect(dsn) as conn:
            for role in LOGIN_ROLES:
                ensure_login_role(conn, role, self._secret(f"db-{role.user}"))
        return dsn

    def start_broker(self) -> None:
        self._progress(f"Mosquitto on 127.0.0.1:{self.config.mqtt_port} (dynamic security plugin)")
        self._check_port(self.config.mqtt_port, "mosquitto", "--mqtt-port")
        self.mosquitto = LocalMosquitto(
            self.config.mqtt_port, state_dir=self.dir / "mosquitto", dynsec=True,
            admin_password=self._secret("mqtt-hub_admin"),
        )
        self.mosquitto.start()
        # The same accounts as a deployment's broker-init job (`homevitals broker init`).
        accounts = HubAccounts(
            ingest_password=SecretStr(self._secret("mqtt-hub_ingest")),
            ingest_client_ids=(DEMO_INGEST_CLIENT_ID,),
        )
        with self._broker_admin() as admin:
            bootstrap(admin, accounts, progress=lambda line: self.say(f"      {line}"))

    def _broker_admin(self) -> DynsecAdmin:
        return DynsecAdmin(
            host="127.0.0.1", port=self.config.mqtt_port, username=DYNSEC_ADMIN,
            password=SecretStr(self._secret("mqtt-hub_admin")),
        )

    def seed(self, dsn: str) -> tuple[list[DemoHome], dict[str, int]]:
        homes = plan_homes(self.config.citizens)
        self._progress(f"{self.config.citizens} demo citizens in {len(homes)} homes")
        ids = seed_homes(dsn, homes, history_days=self.config.history_days)
        scenario_dir = self.dir / "homes"
        scenario_dir.mkdir(parents=True, exist_ok=True)
        for index, home in enumerate(homes):
            path = scenario_dir / f"{home.gateway_id}.yaml"
            scenario = home.scenario(history_days=self.config.history_days, seed=index + 1)
            path.write_text(yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return homes, ids

    def _service(self, name: str, argv: list[str], env: dict[str, str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, env, self.dir / "logs" / f"{name}.log")
        process.start()
        self.children.append(process)
        return process

    def start_ingest_and_api(self, dev_users: list[dict[str, object]] | None = None) -> str:
        cli = _homevitals()
        pg = self.postgres
        if pg is None:  # pragma: no cover - start_database runs first
            raise DemoError("ingest", "database not started", "report this bug")
        common = {"ENVIRONMENT": "development", "LOG_FORMAT": "json"}
        self._progress("ingest worker")
        self._check_port(self.config.metrics_port, "ingest metrics", "--metrics-port")
        self._service(
            "ingest",
            [cli, "ingest", "run"],
            {
                **{f"INGEST_{k}": v for k, v in common.items()},
                "INGEST_DATABASE_URL": pg.dsn_for("homevitals", "ingest_service"),
                "INGEST_MQTT_HOST": "127.0.0.1",
                "INGEST_MQTT_PORT": str(self.config.mqtt_port),
                "INGEST_METRICS_PORT": str(self.config.metrics_port),
                "INGEST_MQTT_CLIENT_ID": DEMO_INGEST_CLIENT_ID,
                "INGEST_MQTT_USERNAME": ingest_username(1),
                "INGEST_MQTT_PASSWORD": self._secret("mqtt-hub_ingest"),
            },
        )
        self._progress(f"API on http://127.0.0.1:{self.config.api_port}")
        self._check_port(self.config.api_port, "api", "--api-port")
        self._service(
            "api",
            [cli, "api", "run"],
            {
                **{f"API_{k}": v for k, v in common.items()},
                "API_DATABASE_URL": pg.dsn_for("homevitals", "api_service"),
                "API_HOST": "127.0.0.1",
                "API_PORT": str(self.config.api_port),
                "API_JWT_SECRET": self._secret("api-jwt-secret"),
                # The web app's development login: no password, only for the people listed.
                "API_WEB_DEV_LOGIN": "true" if dev_users else "false",
                "API_WEB_DEV_USERS": json.dumps(dev_users or []),
                "API_WEB_COOKIE_SECRET": self._secret("web-cookie-secret"),
                # Gateway enrollment against the demo's broker (docs/deployment.md).
                "API_BROKER_HOST": "127.0.0.1",
                "API_BROKER_PORT": str(self.config.mqtt_port),
                "API_BROKER_ADMIN_PASSWORD": self._secret("mqtt-hub_admin"),
                "API_ENROLL_MQTT_HOST": "127.0.0.1",
                "API_ENROLL_MQTT_PORT": str(self.config.mqtt_port),
            },
        )
        url = f"http://127.0.0.1:{self.config.api_port}"
        self._wait_ready(url + "/readyz", "api")
        return url

    def _wait_ready(self, url: str, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_children()
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise DemoError(name, f"{url} not ready after {timeout:.0f} s", f"read {self.dir}/logs/{name}.log")

    def start_gateways(self, homes: list[DemoHome]) -> None:
        cli = _homevitals()
        self._progress(f"{len(homes)} simulated homes (gateways at speed x{self.config.speed:g})")
        # Each gateway gets its own broker account, as enrollment gives a real one.
        with self._broker_admin() as admin:
            for home in homes:
                admin.provision_gateway(home.gateway_id, SecretStr(self._secret(f"mqtt-{home.gateway_id}")))
        for home in homes:
            data_dir = self.dir / "gateways" / home.gateway_id
            data_dir.mkdir(parents=True, exist_ok=True)
            self._service(
                home.gateway_id,
                [
                    cli,
                    "gateway",
                    "run",
                    "--ble-backend",
                    "simulator",
                    "--scenario",
                    str(self.dir / "homes" / f"{home.gateway_id}.yaml"),
                    "--speed",
                    f"{self.config.speed:g}",
                    "--allow-scenario-devices",
                ],
                {
                    "GATEWAY_ID": home.gateway_id,
                    "GATEWAY_MQTT_HOST": "127.0.0.1",
                    "GATEWAY_MQTT_PORT": str(self.config.mqtt_port),
                    "GATEWAY_MQTT_USERNAME": home.gateway_id,
                    "GATEWAY_MQTT_PASSWORD": self._secret(f"mqtt-{home.gateway_id}"),
                    "GATEWAY_DATA_DIR": str(data_dir),
                    "GATEWAY_LOG_FORMAT": "json",
                },
            )

    def _token(self, role: str, sub: str) -> str:
        result = subprocess.run(  # noqa: S603
            [_homevitals(), "api", "token", "--role", role, "--sub", sub],
            env={**os.environ, "API_JWT_SECRET": self._secret("api-jwt-secret")},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return result.stdout.strip()

    def _check_children(self) -> None:
        for child in self.children:
            code = child.exit_code
            if code is not None and not self._stopping:
                raise DemoError(
                    child.name, f"exited with code {code}:\n{child.tail()}", f"read {child.log_path}"
                )

    # -- run -----------------------------------------------------------------------------
    def start(self) -> dict[str, object]:
        dsn = self.start_database()
        self.start_broker()
        homes, citizen_ids = self.seed(dsn)
        dev_users = demo_logins(homes, citizen_ids)
        api_url = self.start_ingest_and_api(dev_users)
        self.start_gateways(homes)
        token = self._token("clinician", "demo-clinician")
        info: dict[str, object] = {
            "api_url": api_url,
            "openapi": api_url + "/docs",
            "clinician_token": token,
            "web_url": api_url + "/app/",
            "web_logins": [f"{u['name']} ({u['role']})" for u in dev_users],
            "database": {
                "host": "127.0.0.1",
                "port": self.config.postgres_port,
                "database": "homevitals",
                "grafana_user": "grafana_reader",
            },
            "mqtt": {"host": "127.0.0.1", "port": self.config.mqtt_port},
            "metrics": f"http://127.0.0.1:{self.config.metrics_port}/metrics",
            "citizens": {
                key: {
                    "id": citizen_ids[key],
                    "gateway_id": home.gateway_id,
                    "user_slot": c.user_slot,
                    "device": home.monitor_address,
                    "name": f"{c.given_name} {c.family_name}",
                }
                for home in homes
                for c in home.citizens
                for key in [c.key]
            },
        }
        info_path = self.dir / "demo.json"
        info_path.write_text(json.dumps(info, indent=2), encoding="utf-8")
        info_path.chmod(0o600)
        return info

    def wait(self) -> None:
        """Watch the children until Ctrl-C, SIGTERM or --duration."""
        deadline = None if self.config.duration is None else time.monotonic() + self.config.duration
        while not self._stopping and (deadline is None or time.monotonic() < deadline):
            self._check_children()
            time.sleep(0.5)

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.say(f"received {signal.Signals(signum).name}: stopping")
        self._stopping = True

    def stop(self) -> None:
        self._stopping = True
        # Gateways first (their outboxes keep what was not yet sent), then ingest drains.
        for child in reversed(self.children):
            self.say(f"stopping {child.name}")
            child.stop()
        if self.mosquitto is not None:
            self.say("stopping Mosquitto")
            self.mosquitto.stop()
        if self.postgres is not None:
            self.say("stopping PostgreSQL")
            self.postgres.stop()
        self.say("stopped; data kept in " + str(self.dir))


def demo_logins(homes: list[DemoHome], citizen_ids: dict[str, int]) -> list[dict[str, object]]:
    """The web app's development logins: a nurse of the first home's care team, and the
    first citizen of that home (who sees only their own numbers)."""
    first = homes[0].citizens[0]
    return [
        {"sub": "demo-nurse", "role": "caregiver", "name": f"Sygeplejerske ({first.care_team})",
         "team": first.care_team},
        {"sub": f"demo-citizen-{first.key}", "role": "citizen",
         "name": f"{first.given_name} {first.family_name}", "citizen": citizen_ids[first.key]},
    ]
