"""Test data and tokens for the API tests: a small municipality in a real database."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from api.auth import mint_dev_token
from api.roles import Role
from api.settings import ApiSettings
from devstack.services.ports import wait_for_port
from tests.support.factories import (
    NORD,
    SYD,
    insert_assignment,
    insert_citizen,
    insert_device,
    insert_gateway,
)

SECRET = "api-tests-hs256-secret-0123456789abcdef"
ISSUER = "https://idp.test.homevitals"
AUDIENCE = "homevitals-api"
OK_STATUS = {
    "body_movement": False,
    "cuff_fit_loose": False,
    "irregular_pulse": False,
    "pulse_rate_range": "in_range",
    "improper_position": False,
}


def api_env(dsn: str, port: int) -> dict[str, str]:
    """The environment of a `homevitals api run` process (the shell's API_* left out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_")}
    env.update(
        API_DATABASE_URL=dsn,
        API_HOST="127.0.0.1",
        API_PORT=str(port),
        API_JWT_SECRET=SECRET,
        API_ISSUER=ISSUER,
        API_AUDIENCE=AUDIENCE,
        API_LOG_FORMAT="json",
        API_POOL_MIN_SIZE="1",
    )
    return env


@dataclass
class Server:
    base_url: str
    log_path: Path

    @property
    def logs(self) -> str:
        return self.log_path.read_text()


@contextmanager
def api_server(repo_root: Path, env: dict[str, str], log_path: Path) -> Iterator[Server]:
    """`homevitals api run` as a real uvicorn process; its log goes to a file (a pipe could fill)."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(repo_root / ".venv/bin/homevitals"), "api", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_for_port("127.0.0.1", int(env["API_PORT"]), timeout=60)
            yield Server(f"http://127.0.0.1:{env['API_PORT']}", log_path)
        finally:
            process.terminate()
            process.wait(timeout=20)


def make_settings(dsn: str, **overrides: object) -> ApiSettings:
    """Explicit settings (never the shell's API_* variables) for an app under test."""
    values: dict[str, object] = {
        "database_url": dsn,
        "jwt_secret": SECRET,
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "environment": "development",
        "pool_min_size": 1,
        "pool_max_size": 4,
        "organisation": "Testkommune",
    }
    values.update(overrides)
    return ApiSettings.model_validate(values)


def token(
    role: str,
    sub: str,
    *,
    team: str | None = None,
    citizen: int | None = None,
    secret: str = SECRET,
    ttl: timedelta = timedelta(hours=1),
) -> str:
    return mint_dev_token(
        secret,
        role=Role(role),
        sub=sub,
        team=team,
        citizen_id=citizen,
        ttl=ttl,
        issuer=ISSUER,
        audience=AUDIENCE,
    )


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def insert_reading(
    conn: psycopg.Connection,
    *,
    device_id: int,
    measured_at: datetime,
    citizen_id: int | None = None,
    assignment_id: int | None = None,
    systolic: float | None = 128,
    diastolic: float | None = 82,
    pulse: float | None = 64,
    kind: str = "blood_pressure",
    value: float | None = None,
    implausible: bool = False,
    implausible_reasons: tuple[str, ...] = (),
    invalid_values: tuple[str, ...] = (),
    status: dict[str, Any] | None = None,
    user_slot: int | None = 1,
) -> uuid.UUID:
    reading_id = uuid.uuid4()
    if kind == "blood_pressure":
        values: dict[str, Any] = {
            "systolic": systolic,
            "diastolic": diastolic,
            "pulse_rate": pulse,
            "mean_arterial_pressure": None,
        }
        unit = "mmHg"
    else:
        values = {kind: value}
        unit = {"weight": "kg", "temperature": "Cel", "glucose": "mmol/L", "pulse_oximetry": "%"}[kind]
    conn.execute(
        "INSERT INTO reading_ids (reading_id, measured_at) VALUES (%s, %s)", (reading_id, measured_at)
    )
    conn.execute(
        """INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, assignment_id,
           gateway_id, batch_seq, device_time, gateway_time, time_source, unit, systolic, diastolic, pulse_rate,
           value, "values", status, invalid_values, implausible, implausible_reasons, raw_uuid, raw)
           VALUES (%s, %s, %s, %s, %s, %s, %s, 'gw-0001', 1, %s, %s, 'device', %s, %s, %s, %s, %s, %s, %s, %s,
                   %s, %s, '2a35', '\\x1e'::bytea)""",
        (
            measured_at,
            reading_id,
            kind,
            device_id,
            user_slot,
            citizen_id,
            assignment_id,
            measured_at.replace(tzinfo=None),
            measured_at,
            unit,
            systolic if kind == "blood_pressure" else None,
            diastolic if kind == "blood_pressure" else None,
            pulse if kind in ("blood_pressure", "pulse_oximetry") else None,
            value,
            Jsonb(values),
            Jsonb(status if status is not None else (OK_STATUS if kind == "blood_pressure" else None))
            if (status is not None or kind == "blood_pressure")
            else None,
            list(invalid_values),
            implausible,
            list(implausible_reasons),
        ),
    )
    return reading_id


def insert_alert(
    conn: psycopg.Connection,
    citizen_id: int,
    *,
    metric: str = "systolic",
    level: str = "warning",
    state: str = "open",
) -> int:
    acknowledged = "now()" if state == "acknowledged" else "NULL"
    resolved = "now()" if state == "resolved" else "NULL"
    row = conn.execute(
        f"INSERT INTO alerts (citizen_id, metric, level, state, value, message, acknowledged_at, resolved_at) "
        f"VALUES (%s, %s, %s, %s, 150, 'systolic 150 above 135', {acknowledged}, {resolved}) RETURNING id",
        (citizen_id, metric, level, state),
    ).fetchone()
    assert row
    return int(row[0])


@dataclass
class Seed:
    """Two care teams: Anna and Bo in team-nord, Carl in team-syd."""

    anna: int
    bo: int
    carl: int
    gateway_nord: str
    gateway_syd: str
    device_anna: int
    device_carl: int
    device_spare: int
    assignment_anna: int
    assignment_carl: int
    anna_readings: list[uuid.UUID]
    unassigned_readings: list[uuid.UUID]
    alert_anna: int
    alert_carl: int


def seed(dsn: str) -> Seed:
    with psycopg.connect(dsn, autocommit=True) as conn:
        anna = insert_citizen(conn, "Anna", "Andersen", NORD, cpr="0101501234")
        bo = insert_citizen(conn, "Bo", "Berg", NORD, cpr="0202502345")
        carl = insert_citizen(conn, "Carl", "Christensen", SYD, cpr="0303503456")
        insert_gateway(conn, "gw-0001", state="online", last_seen=datetime.now(UTC))
        insert_gateway(conn, "gw-0002", state="offline", last_seen=datetime.now(UTC) - timedelta(days=2))
        device_anna = insert_device(conn, "A4:C1:38:00:00:01", "gw-0001", battery=80)
        device_carl = insert_device(conn, "A4:C1:38:00:00:02", "gw-0002", battery=80)
        device_spare = insert_device(conn, "A4:C1:38:00:00:03")
        assignment_anna = insert_assignment(conn, device_anna, anna)
        assignment_carl = insert_assignment(conn, device_carl, carl)
        base = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
        anna_readings = [
            insert_reading(
                conn,
                device_id=device_anna,
                citizen_id=anna,
                assignment_id=assignment_anna,
                measured_at=base + timedelta(hours=12 * i),
                systolic=130 + i,
                diastolic=80 + i,
            )
            for i in range(4)
        ]
        insert_reading(
            conn, device_id=device_carl, citizen_id=carl, assignment_id=assignment_carl, measured_at=base
        )
        unassigned = [
            insert_reading(conn, device_id=device_spare, measured_at=base + timedelta(hours=i))
            for i in range(2)
        ]
        alert_anna = insert_alert(conn, anna)
        alert_carl = insert_alert(conn, carl)
    return Seed(
        anna,
        bo,
        carl,
        "gw-0001",
        "gw-0002",
        device_anna,
        device_carl,
        device_spare,
        assignment_anna,
        assignment_carl,
        anna_readings,
        unassigned,
        alert_anna,
        alert_carl,
    )


def principals(s: Seed) -> dict[str, str]:
    """One token per principal of the role matrix; every request in the matrix is about Anna."""
    return {
        "citizen": token("citizen", "anna.andersen", citizen=s.anna),
        "caregiver": token("caregiver", "nurse.nord", team=NORD),
        "caregiver_other_team": token("caregiver", "nurse.syd", team=SYD),
        "clinician": token("clinician", "dr.hansen"),
        "admin": token("admin", "admin.it"),
    }


def audit_rows(source: str | psycopg.Connection, **where: Any) -> list[dict[str, Any]]:
    """Audit rows matching ``where`` (column = value), oldest first; ``source`` a DSN or a connection."""
    conditions = " AND ".join(f"{k} = %({k})s" for k in where) or "TRUE"
    query = f"SELECT * FROM audit_log WHERE {conditions} ORDER BY id"
    if isinstance(source, psycopg.Connection):
        with source.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return cur.execute(query, where).fetchall()
    with psycopg.connect(source) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(query, where).fetchall()


@dataclass(frozen=True)
class Account:
    username: str
    client_id: str


@dataclass
class FakeBrokerAdmin:
    """Stands in for api.broker.dynsec.DynsecAdmin: records accounts, can be made to fail."""

    passwords: dict[str, str] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    down: bool = False

    @contextmanager
    def session(self) -> Iterator[FakeBrokerAdmin]:
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        yield self

    def provision_gateway(self, gateway_id: str, password: SecretStr) -> Account:
        self.passwords[gateway_id] = password.get_secret_value()
        return Account(gateway_id, f"homevitals-gateway-{gateway_id}")

    def revoke_gateway(self, gateway_id: str) -> None:
        self.passwords.pop(gateway_id, None)
        self.revoked.append(gateway_id)
