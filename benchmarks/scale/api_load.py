"""The API's main reads over real HTTP, from 1 and 8 concurrent keep-alive clients.

Starts ``homevitals api run`` (real uvicorn, the code this checkout imports) on the seeded
database as a login member of ``homevitals_api``; every request is authenticated and
audited as in production. Each client cycles through a list of URLs (twenty citizens of
one team), so answers do not all come from one citizen's cached pages.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import psycopg

import api
from api.auth import mint_dev_token
from api.roles import Role
from benchmarks.procstat import CpuProbe, _children_of, cpu_seconds
from benchmarks.scale.timing import Timing
from devstack.services.ports import free_port, wait_for_port

SECRET: Final = "scale-benchmark-only-hs256-secret-0123456789"  # noqa: S105 - a throwaway server's dev secret
API_LOGIN: Final = "bench_api_service"


@dataclass(frozen=True)
class Read:
    name: str
    paths: list[str]
    headers: dict[str, str]


@contextmanager
def api_server(dsn: str, clients: int, workers: int = 1) -> Iterator[tuple[int, int]]:
    """Serve the API on a free port for the duration of the block: (port, server pid)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{API_LOGIN}') "
            f"THEN CREATE ROLE {API_LOGIN} LOGIN IN ROLE homevitals_api; END IF; END $$"
        )
    port = free_port()
    root = Path(api.__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "WEB_"))}
    env.update(
        PYTHONPATH=str(root),
        API_DATABASE_URL=re.sub(r"//[^@/]+@", f"//{API_LOGIN}@", dsn),
        API_PORT=str(port),
        API_JWT_SECRET=SECRET,
        API_LOG_LEVEL="WARNING",
        API_POOL_MIN_SIZE="4",
        API_POOL_MAX_SIZE=str(max(4, clients)),
    )
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"homevitals-scale-api-{port}.log"  # noqa: S108
    with log.open("w") as log_file:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            [
                sys.executable,
                "-c",
                "from homevitals.cli import main; main()",
                "api",
                "run",
                *(["--workers", str(workers)] if workers > 1 else []),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            cwd=root,
        )
        try:
            wait_for_port("127.0.0.1", port, timeout=60)
            yield port, server.pid
        finally:
            server.terminate()
            server.wait(timeout=30)


def reads(conn: psycopg.Connection[Any], now: datetime) -> list[Read]:
    team, *_ = conn.execute("SELECT care_team FROM citizens ORDER BY care_team LIMIT 1").fetchone() or (
        "team-00",
    )
    citizens = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM citizens WHERE care_team = %s ORDER BY id LIMIT 20", (team,)
        ).fetchall()
    ]
    clinician = {
        "Authorization": "Bearer "
        + mint_dev_token(SECRET, role=Role.CLINICIAN, sub="bench.clinician", ttl=timedelta(hours=4))
    }
    nurse = {
        "Authorization": "Bearer "
        + mint_dev_token(SECRET, role=Role.CAREGIVER, sub="bench.nurse", team=team, ttl=timedelta(hours=4))
    }
    window = {
        "from": (now - timedelta(days=90)).isoformat(),
        "to": now.isoformat(),
        "kind": "blood_pressure",
        "limit": 1000,
    }
    return [
        Read(
            "a citizen's 90 days, raw (1000 per page)",
            [f"/api/v1/citizens/{c}/readings?{urlencode(window)}" for c in citizens],
            clinician,
        ),
        Read(
            "a citizen's 90 days, daily buckets",
            [f"/api/v1/citizens/{c}/readings?{urlencode({**window, 'bucket': '1d'})}" for c in citizens],
            clinician,
        ),
        Read(
            "home-BP report (JSON, 7 days)",
            [f"/api/v1/citizens/{c}/reports/home-bp?days=7" for c in citizens],
            clinician,
        ),
        Read(
            "FHIR Observation search (50)",
            [f"/fhir/Observation?patient={c}&_count=50" for c in citizens],
            clinician,
        ),
        Read(f"alerts list, open ({team}'s nurse)", ["/api/v1/alerts?state=open&limit=100"], nurse),
        Read("unassigned queue (100)", ["/api/v1/unassigned-readings?limit=100"], nurse),
    ]


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds of the API server and its worker processes (uvicorn --workers forks them)."""
    return sum(cpu_seconds(p) for p in (pid, *_children_of(pid)))


def postmaster_pid(conn: psycopg.Connection[Any]) -> int | None:
    """The local PostgreSQL server's postmaster (the parent of this session's backend)."""
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    try:
        stat = Path(f"/proc/{row[0] if row else 0}/stat").read_text()
    except OSError:
        return None  # not a server on this machine
    return int(stat.rsplit(")", 1)[1].split()[1])


def drive(
    port: int,
    read: Read,
    clients: int,
    seconds: float,
    server_pid: int | None = None,
    postgres_pid: int | None = None,
) -> Timing:
    """``clients`` threads on keep-alive connections for ``seconds`` after a 1 s warm-up.

    With ``server_pid`` (and ``postgres_pid``), the note also gives the CPU milliseconds per
    request of the API processes, of PostgreSQL and of this load generator over the measured
    seconds (user + system, from /proc), and how busy the whole machine was.
    """
    samples: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    measuring = threading.Event()
    stop = threading.Event()

    def worker(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        n = offset
        while not stop.is_set():
            path = read.paths[n % len(read.paths)]
            n += 1
            started = time.perf_counter()
            connection.request("GET", path, headers=read.headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                with lock:
                    errors.append(f"{response.status} {path}: {body[:200]!r}")
                break
            if measuring.is_set():
                mine.append(elapsed)
        connection.close()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=worker, args=(i * 7,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    probe = CpuProbe(
        {
            "api": lambda: [server_pid, *_children_of(server_pid)] if server_pid else [],
            "postgres": lambda: [postgres_pid, *_children_of(postgres_pid)] if postgres_pid else [],
            "client": lambda: [os.getpid()],
        }
    )
    probe.start()
    measuring.set()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    used = probe.stop()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    timing = Timing(f"{read.name}, {clients} client{'s' if clients > 1 else ''}", samples)
    timing.rows = len(samples)
    # Requests finished after stop() add CPU but no sample: at most one per client, ignored.
    cpu = ""
    if server_pid and samples:
        per = {name: used[name] * 1000 / len(samples) for name in ("api", "postgres", "client")}
        cpu = (
            f", CPU ms/req: API {per['api']:.2f}, PostgreSQL {per['postgres']:.2f}, "
            f"client {per['client']:.2f}; machine {used['machine_busy_fraction']:.0%} busy"
        )
    timing.note = f"{len(samples) / elapsed:,.0f} req/s{cpu}" if not errors else f"ERROR {errors[0]}"
    return timing


def run(dsn: str, clients: tuple[int, ...], seconds: float, workers: int = 1) -> list[Timing]:
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        plan = reads(conn, now)
        postgres = postmaster_pid(conn)
    with api_server(dsn, max(clients), workers) as (port, pid):
        return [drive(port, read, n, seconds, pid, postgres) for read in plan for n in clients]
