"""``homevitals bench api``: one citizen's 90 days of readings, out of a 1-million-row hypertable.

    homevitals bench api [--dsn URL] [--rows 1000000] [--clients 8] [--seconds 20] [--workers 1]
                         [--write-docs docs/benchmarks.md]

Without ``--dsn`` it starts a throwaway PostgreSQL+TimescaleDB. It seeds citizens, devices,
assignments and readings server-side with ``generate_series`` (4 blood-pressure readings a
day per citizen), starts ``homevitals api run`` (real uvicorn), and drives it with N client
threads on keep-alive connections, each asking for the same citizen's last 90 days
(raw readings, one page) and then the same 90 days as daily buckets. It prints p50/p90/p99
latency and requests/s per request kind; ``--write-docs`` puts them in the "## API"
section of the given Markdown file (replacing that section only).
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import typer

from api.auth import mint_dev_token
from api.roles import Role
from benchmarks.report import replace_section, say
from database.migrate import migrate
from devstack.services.ports import free_port, wait_for_port
from devstack.services.postgres import LocalPostgres

READINGS_PER_DAY = 4
SECRET = "benchmark-only-hs256-secret-0123456789abcdef"  # noqa: S105 - a throwaway server's dev secret
BENCH_LOGIN = "homevitals_api_bench"

SEED_SQL = """
INSERT INTO citizens (given_name, family_name, care_team, birth_date)
SELECT 'Citizen', 'No ' || i, 'team-' || (i %% 20), date '1945-01-01' + (i %% 9000)
FROM generate_series(1, %(citizens)s) AS i;

INSERT INTO devices (address, kind, model, manufacturer, battery_level, battery_at, last_seen)
SELECT upper(regexp_replace(lpad(to_hex(c.id), 12, '0'), '(..)(?!$)', '\\1:', 'g')), 'blood_pressure',
       'UA-651BLE', 'A&D Medical', 80, now(), now()
FROM citizens c;

INSERT INTO device_assignments (device_id, user_slot, citizen_id, valid)
SELECT d.id, 1, d.id, tstzrange(%(start)s, NULL) FROM devices d;

INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, assignment_id,
                      gateway_id, batch_seq, device_time, gateway_time, time_source, unit, systolic,
                      diastolic, mean_arterial_pressure, pulse_rate, "values", status, raw_uuid, raw)
SELECT t, gen_random_uuid(), 'blood_pressure', a.device_id, 1, a.citizen_id, a.id, 'gw-bench', k,
       (t AT TIME ZONE 'Europe/Copenhagen'), t + interval '4 seconds', 'device', 'mmHg',
       sys, dia, round((sys + 2 * dia) / 3), pulse,
       jsonb_build_object('systolic', sys, 'diastolic', dia, 'pulse_rate', pulse),
       '{"body_movement": false, "cuff_fit_loose": false, "irregular_pulse": false,
         "pulse_rate_range": "in_range", "improper_position": false}'::jsonb,
       '2a35', '\\x1e'::bytea
FROM device_assignments a
CROSS JOIN LATERAL generate_series(0, %(per_citizen)s - 1) AS k
CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + k * interval '6 hours'
                           + (a.id %% 360) * interval '1 minute' AS t) AS times
CROSS JOIN LATERAL (SELECT 110 + (a.id * 7 + k * 13) %% 50 AS sys, 65 + (a.id * 3 + k * 7) %% 30 AS dia,
                           55 + (a.id + k * 5) %% 40 AS pulse) AS v;
"""


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    rows_per_answer: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def line(self) -> str:
        return (
            f"{self.name}: {self.requests} requests in {self.seconds:.1f} s = {self.rps:.0f} req/s; "
            f"p50 {self.pct(50):.1f} ms, p90 {self.pct(90):.1f} ms, p99 {self.pct(99):.1f} ms, "
            f"max {max(self.latencies_ms):.1f} ms; {self.rows_per_answer} rows per answer"
        )


def seed(dsn: str, rows: int, now: datetime) -> tuple[int, int]:
    """Seed ``rows`` readings over 1000 citizens; returns (target citizen, its rows in 90 days)."""
    citizens = max(1, min(1000, rows // (READINGS_PER_DAY * 120)))
    per_citizen = rows // citizens
    start = now - timedelta(hours=6 * per_citizen)
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO gateways (gateway_id, state, last_seen) VALUES ('gw-bench', 'online', now())"
        )
        params = {"citizens": citizens, "per_citizen": per_citizen, "start": start}
        for statement in SEED_SQL.split(";\n"):
            if statement.strip():
                conn.execute(statement, {k: v for k, v in params.items() if f"%({k})s" in statement})
        conn.execute("ANALYZE")
        total = conn.execute("SELECT count(*) FROM readings").fetchone()
        target = citizens // 2 + 1
        recent = conn.execute(
            "SELECT count(*) FROM readings WHERE citizen_id = %s AND measured_at >= %s",
            (target, now - timedelta(days=90)),
        ).fetchone()
        say(
            f"seeded {total[0] if total else 0} readings for {citizens} citizens in "
            f"{time.perf_counter() - started:.1f} s",
            err=True,
        )
    return target, recent[0] if recent else 0


def _seeded(dsn: str, now: datetime) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM citizens").fetchone()
        target = (row[0] if row else 0) // 2 + 1
        recent = conn.execute(
            "SELECT count(*) FROM readings WHERE citizen_id = %s AND measured_at >= %s",
            (target, now - timedelta(days=90)),
        ).fetchone()
    return target, recent[0] if recent else 0


def drive(url: str, headers: dict[str, str], clients: int, seconds: float, name: str) -> Result:
    """``clients`` threads, each on its own keep-alive connection, for ``seconds`` (after a warm-up)."""
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = [0.0]
    measuring = threading.Event()
    rows = [0]

    def worker() -> None:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        mine: list[float] = []
        while True:
            started = time.perf_counter()
            if stop_at[0] and started >= stop_at[0]:
                break
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise RuntimeError(f"{response.status}: {body[:300]!r}")
            if measuring.is_set():
                mine.append(elapsed)
            elif not rows[0]:
                rows[0] = len(json.loads(body)["items"])
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)  # warm-up: connections, pools, caches
    measuring.set()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    return Result(name, len(latencies), time.perf_counter() - began, latencies, rows[0])


def _section(results: Sequence[Result], *, rows: int, clients: int, workers: int, target_rows: int) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        "## API",
        "",
        (
            f"`homevitals bench api --rows {rows} --clients {clients} --workers {workers}`, measured "
            f"{datetime.now(UTC):%Y-%m-%d} on this development machine ({os.cpu_count()} CPUs, {cpu}; "
            "shared with other work, so treat the figures as indicative). A throwaway TimescaleDB "
            f"(fsync off) holds {rows:,} blood-pressure readings (1000 citizens, 4 a day); "
            f"`homevitals api run` (uvicorn, {workers} worker(s), INFO request logs) serves {clients} "
            "client threads on keep-alive connections, all asking for the same citizen's last 90 days "
            f"({target_rows} readings). Each request is authenticated (HS256) and writes its audit row "
            "before answering."
        ),
        "",
        "| request | req/s | p50 ms | p90 ms | p99 ms | max ms | rows |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.name} | {r.rps:.0f} | {r.pct(50):.1f} | {r.pct(90):.1f} | {r.pct(99):.1f} | "
        f"{max(r.latencies_ms):.1f} | {r.rows_per_answer} |"
        for r in results
    ]
    lines += [
        "",
        "Goal: p99 under 50 ms with 8 clients (issue 7). See docs/api.md for what the figures mean.",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Options:
    rows: int
    clients: int
    seconds: float
    workers: int


def api(
    dsn: str | None = typer.Option(
        None, help="An empty database to migrate and seed; default: a throwaway cluster.", show_default=False
    ),
    rows: int = typer.Option(1_000_000, help="Readings to seed."),
    clients: int = typer.Option(8, help="Concurrent client threads."),
    seconds: float = typer.Option(20.0, help="Measuring time per request kind."),
    workers: int = typer.Option(1, help="uvicorn worker processes."),
    write_docs: Path | None = typer.Option(
        None, help="Update the '## API' section of this Markdown file.", show_default=False
    ),
    reuse: bool = typer.Option(False, help="--dsn is already seeded by an earlier run."),
) -> None:
    """One citizen's 90 days (raw and daily buckets) under concurrent clients, p50/p90/p99."""
    options = Options(rows=rows, clients=clients, seconds=seconds, workers=workers)
    cluster = None if dsn else LocalPostgres().start()
    try:
        url = dsn or cluster.dsn  # type: ignore[union-attr]
        migrate(url)
        now = datetime.now(UTC)
        target, target_rows = _seeded(url, now) if reuse else seed(url, rows, now)
        results = _run(url, target, now, options)
    finally:
        if cluster is not None:
            cluster.close()
    for result in results:
        say(result.line())
    if write_docs:
        replace_section(
            write_docs,
            _section(results, rows=rows, clients=clients, workers=workers, target_rows=target_rows),
        )
        say(f"wrote the '## API' section of {write_docs}", err=True)


def _run(dsn: str, target: int, now: datetime, options: Options) -> list[Result]:
    with psycopg.connect(dsn, autocommit=True) as conn:  # the API's own role, as in production
        conn.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{BENCH_LOGIN}') "
            f"THEN CREATE ROLE {BENCH_LOGIN} LOGIN IN ROLE homevitals_api; END IF; END $$"
        )
    api_dsn = re.sub(r"//[^@/]+@", f"//{BENCH_LOGIN}@", dsn)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_")}
    env.update(
        API_DATABASE_URL=api_dsn,
        API_PORT=str(port),
        API_JWT_SECRET=SECRET,
        API_LOG_LEVEL="INFO",
        API_POOL_MIN_SIZE="4",
        API_POOL_MAX_SIZE=str(max(4, options.clients)),
    )
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"homevitals-api-bench-{port}.log"  # noqa: S108
    homevitals = Path(sys.executable).with_name("homevitals")
    with log.open("w") as log_file:
        server = subprocess.Popen(  # noqa: S603
            [str(homevitals), "api", "run", "--workers", str(options.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        try:
            wait_for_port("127.0.0.1", port, timeout=60)
            token = mint_dev_token(SECRET, role=Role.CLINICIAN, sub="bench.clinician", ttl=timedelta(hours=2))
            headers = {"Authorization": f"Bearer {token}"}
            window = {
                "from": (now - timedelta(days=90)).isoformat(),
                "to": now.isoformat(),
                "kind": "blood_pressure",
                "limit": 1000,
            }
            base = f"http://127.0.0.1:{port}/api/v1/citizens/{target}/readings?"
            raw_url, daily_url = base + urlencode(window), base + urlencode({**window, "bucket": "1d"})
            clients, seconds = options.clients, options.seconds
            results = [
                drive(raw_url, headers, clients, seconds, f"90 days, raw readings, {clients} clients"),
                drive(daily_url, headers, clients, seconds, f"90 days, daily buckets, {clients} clients"),
                # One client: no queueing, so the latency is the service time of one request.
                drive(raw_url, headers, 1, seconds / 2, "90 days, raw readings, 1 client"),
            ]
        finally:
            server.terminate()
            server.wait(timeout=30)
    return results
