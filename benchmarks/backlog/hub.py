"""The hub side of the backlog benchmark: a broker with the deployment's accounts, and real
``python -m ingest run`` workers logging in with theirs.

The broker is a throwaway Mosquitto with the dynamic security plugin, set up as a deployment
is (``api.broker.bootstrap``: deny by default, one ``hub_ingest_{n}`` account per worker bound
to its client id, and one account and role per gateway, as enrollment makes them). Anonymous
clients are allowed into one group whose role may only publish readings: that is how the
baseline, the ingest benchmark's plain publisher (no account, no outbox), reaches the same
broker and the same ingest.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from api.broker import commands
from api.broker.bootstrap import HubAccounts, bootstrap, ingest_username
from api.broker.dynsec import DynsecAdmin
from benchmarks.ingest.metrics import metric_value, metrics_text, wait_metric
from devstack.services.mosquitto import DYNSEC_ADMIN, LocalMosquitto
from devstack.services.ports import free_port
from homevitals.contract.models import READINGS_SUBSCRIPTION

BASELINE_GROUP = "bench-baseline-anonymous"


def backlog_broker() -> LocalMosquitto:
    """Dynamic security as deployed, plus anonymous logins for the baseline's group only."""
    return LocalMosquitto(dynsec=True, extra_config="allow_anonymous true\n")


@dataclass(frozen=True)
class HubSecrets:
    ingest_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    gateway_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))


def ingest_client_id(worker: int) -> str:
    return f"bench-backlog-ingest-{worker}"


def provision(
    broker: LocalMosquitto,
    gateway_ids: list[str],
    workers: int,
    hub: HubSecrets,
    progress: Callable[[str], None],
) -> None:
    admin = DynsecAdmin(
        host="127.0.0.1",
        port=broker.port,
        username=DYNSEC_ADMIN,
        password=SecretStr(broker.admin_password),
        timeout=60,
    )
    password = SecretStr(hub.gateway_password)
    accounts = HubAccounts(
        ingest_password=SecretStr(hub.ingest_password),
        ingest_client_ids=tuple(ingest_client_id(w) for w in range(1, workers + 1)),
        gateways=dict.fromkeys(gateway_ids, password),
    )
    with admin:
        bootstrap(admin, accounts, progress=progress)
        role = commands.create_role(
            BASELINE_GROUP,
            [commands.Acl(commands.AclType.PUBLISH_SEND, READINGS_SUBSCRIPTION, allow=True)],
        )
        admin.call(role)
        admin.call({"command": "createGroup", "groupname": BASELINE_GROUP})
        admin.call({"command": "addGroupRole", "groupname": BASELINE_GROUP, "rolename": BASELINE_GROUP})
        admin.call({"command": "setAnonymousGroup", "groupname": BASELINE_GROUP})


@dataclass
class IngestWorkers:
    """Real ingest worker processes, configured only by ``INGEST_*`` variables."""

    dsn: str
    host: str
    port: int
    hub: HubSecrets
    count: int
    log_dir: Path
    name: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    metrics_ports: list[int] = field(default_factory=list)

    def start(self) -> None:
        for w in range(1, self.count + 1):
            port = free_port()
            self.metrics_ports.append(port)
            env = {
                **os.environ,
                "INGEST_DATABASE_URL": self.dsn,
                "INGEST_MQTT_HOST": self.host,
                "INGEST_MQTT_PORT": str(self.port),
                "INGEST_MQTT_USERNAME": ingest_username(w),
                "INGEST_MQTT_PASSWORD": self.hub.ingest_password,
                "INGEST_MQTT_CLIENT_ID": ingest_client_id(w),
                "INGEST_METRICS_HOST": "127.0.0.1",
                "INGEST_METRICS_PORT": str(port),
                "INGEST_LOG_LEVEL": "WARNING",
                "INGEST_MISSING_CHECK_INTERVAL_S": "0",
            }
            with (self.log_dir / f"{self.name}-ingest-{w}.log").open("wb") as log_file:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "ingest", "run"], env=env, stdout=log_file, stderr=log_file
                    )
                )
        for port in self.metrics_ports:
            wait_metric(port, "ingest_mqtt_connected", 1.0, timeout=60)

    def metric(self, name: str) -> float:
        return sum(metric_value(metrics_text(port), name) for port in self.metrics_ports)

    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
