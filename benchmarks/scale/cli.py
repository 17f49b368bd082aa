"""``homevitals bench scale`` (also ``python -m benchmarks.scale``): seed, then time everything.

The command registered by ``homevitals bench`` is :func:`scale`; :data:`app` runs it alone.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import psycopg
import typer

from benchmarks.scale import api_load, disk, ingest_load, panels
from benchmarks.scale.seed import SeedMismatch, seed
from benchmarks.scale.timing import Timing, markdown_table
from database.migrate import migrate
from devstack.services.postgres import LocalPostgres

app = typer.Typer(help="The scale benchmark (docs/benchmarks.md, 'Scale').", add_completion=False)


class Report:
    """Prints to the terminal and keeps the same Markdown for ``--report``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.parts: list[str] = []

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()
        self.parts.append(text)

    def table(self, headers: list[str], rows: list[list[object]]) -> None:
        self.say(markdown_table(headers, rows))
        self.say()


def _note(message: str) -> None:
    typer.echo(message, err=True)


@contextlib.contextmanager
def _database(dsn: str | None, data_dir: Path | None) -> Iterator[str]:
    if dsn is not None:
        yield dsn
        return
    with LocalPostgres(data_dir=data_dir) as server:
        _note(f"PostgreSQL+TimescaleDB on port {server.port}, data in {server.data_dir}")
        yield server.dsn


def _timing_rows(timings: list[Timing]) -> list[list[object]]:
    return [[t.name, round(t.p50, 1), round(t.p99, 1), t.rows, t.note] for t in timings]


def _panel_section(
    report: Report, conn: psycopg.Connection[object], repeat: int, old_repeat: int, old_timeout: float
) -> list[tuple[panels.PanelQuery, Timing]]:
    found, now = panels.scenarios(conn)
    everything: list[tuple[panels.PanelQuery, Timing]] = []
    summary_rows: list[list[object]] = []
    for scenario in found:
        _note(f"timing {scenario.label} ({repeat} runs per panel)")
        results = panels.time_scenario(conn, scenario, repeat=repeat, now=now)
        everything += results
        total = panels.dashboard_totals(results, repeat)
        report.say(f"#### {scenario.label}")
        report.table(["panel query", "p50 ms", "p99 ms", "rows", ""], _timing_rows([t for _, t in results]))
        summary_rows.append(
            [
                scenario.label,
                "summaries",
                round(total.p50, 1),
                round(total.p99, 1),
                round(max(t.p50 for _, t in results), 1),
            ]
        )
        if scenario.dashboard == "care-overview" and old_repeat > 0:
            _note(f"timing {scenario.label} on 0004's view over raw readings ({old_repeat} runs per panel)")
            old = panels.time_scenario(
                conn,
                scenario,
                repeat=old_repeat,
                now=now,
                rewrite=panels.to_raw_view,
                label_suffix=" [raw view]",
                warm_up=False,
                timeout_s=old_timeout,
            )
            old_total = panels.dashboard_totals(old, old_repeat)
            summary_rows.append(
                [
                    scenario.label,
                    "raw readings (0004 view)",
                    round(old_total.p50, 1),
                    round(old_total.p99, 1),
                    round(max(t.p50 for _, t in old), 1),
                ]
            )
    report.say("#### Dashboards: all panel queries per refresh")
    report.table(
        ["dashboard", "care overview reads", "total p50 ms", "total p99 ms", "slowest panel p50 ms"],
        summary_rows,
    )
    return everything


def _api_section(
    report: Report, dsn: str, clients: tuple[int, ...], api_seconds: float, api_workers: int
) -> None:
    if api_seconds <= 0:
        return
    _note(f"API: {api_seconds:g} s per read and client count, {api_workers} uvicorn worker(s)")
    report.say(
        f"#### API over HTTP (each request authenticated and audited; {api_workers} uvicorn worker(s))"
    )
    report.table(
        ["read", "p50 ms", "p99 ms", "requests", ""],
        _timing_rows(api_load.run(dsn, clients, api_seconds, api_workers)),
    )


def run_benchmark(
    dsn: str,
    *,
    citizens: int,
    days: int,
    chunk: int,
    repeat: int,
    old_repeat: int,
    old_timeout: float = 20.0,
    api_seconds: float,
    clients: tuple[int, ...],
    ingest_readings: int,
    explain: int,
    report: Report,
    seed_only: bool = False,
    api_only: bool = False,
    api_workers: int = 1,
) -> None:
    migrate(dsn)
    with typer.progressbar(length=max(1, -(-citizens // chunk)), label="seeding", file=sys.stderr) as bar:

        def progress(done: int, _total: int) -> None:
            bar.update(done - bar.pos)

        result = seed(dsn, citizens, days, chunk=chunk, progress=progress, say=_note)
    report.say(f"### Scale benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    report.say()
    report.say(
        f"{citizens:,} citizens in 20 care teams x {days} days: {result.readings:,} readings "
        f"(seeded now: {result.chunks_written} chunks in {result.seconds:,.0f} s, "
        f"{result.rate:,.0f} readings/s including generation, ledger, alerts and summaries)."
    )
    report.say(
        "Summaries on a sample of 25 citizens equal a recomputation from raw rows: "
        + ("yes" if not result.sample_problems else f"NO: {result.sample_problems[:3]}")
    )
    report.say()
    if seed_only:
        return
    if api_only:
        _api_section(report, dsn, clients, api_seconds, api_workers)
        return
    with psycopg.connect(dsn, autocommit=True) as admin:
        grafana_dsn = panels.grafana_dsn(dsn, admin)
        if old_repeat > 0:
            panels.create_raw_view(admin)
        items, readings = disk.sizes(admin)
    report.say("#### Disk")
    report.table(
        ["what", "MB", "MB per million readings"],
        [[name, round(b / 1e6, 1), round(per / 1e6, 1)] for name, b, per in items],
    )
    with psycopg.connect(grafana_dsn, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '300s'")
        timed = _panel_section(report, conn, repeat, old_repeat, old_timeout)
        slowest = sorted(timed, key=lambda pair: pair[1].p50, reverse=True)[:explain]
        if slowest:
            report.say("#### EXPLAIN (ANALYZE, BUFFERS) of the slowest panel queries")
            for query, timing in slowest:
                report.say(f"{timing.name} (p50 {timing.p50:.1f} ms):")
                report.say("```")
                report.say(panels.explain(conn, query.sql))
                report.say("```")
            report.say()
    _api_section(report, dsn, clients, api_seconds, api_workers)
    if ingest_readings > 0:
        _note(f"ingest: {ingest_readings} readings per run")
        runs = [ingest_load.run(dsn, "seeded database", citizens, ingest_readings, n) for n in (20, 1)]
        report.say("#### Ingest write path on the seeded database (validate + BatchWriter, no MQTT)")
        report.table(
            ["database", "readings per message", "readings", "stored", "seconds", "readings/s"],
            [
                [r.label, r.per_message, r.readings, r.stored, round(r.seconds, 2), round(r.rate)]
                for r in runs
            ],
        )
        alone, trigger, batched = ingest_load.summary_cost(dsn)
        report.say("#### What keeping the summaries costs per reading (INSERT of 5,000 rows, rolled back)")
        report.table(
            ["path", "us per reading"],
            [
                ["INSERT, summaries not maintained", round(alone, 1)],
                ["INSERT + row trigger (API, operators, seeds)", round(trigger, 1)],
                ["INSERT + ingest's statement per 500 readings", round(batched, 1)],
            ],
        )
    del readings


@app.command()
def scale(
    citizens: int = typer.Option(10_000, min=1, help="Citizens (one home, one monitor each)."),
    days: int = typer.Option(365, min=1, help="Days of readings per citizen."),
    dsn: str | None = typer.Option(None, help="Use (and seed) this database instead of a throwaway cluster."),
    data_dir: Path | None = typer.Option(
        None, help="Keep the throwaway cluster's data here, so a second run resumes the seed."
    ),
    chunk: int = typer.Option(100, min=1, help="Citizens per seed transaction (the unit of resuming)."),
    repeat: int = typer.Option(5, min=1, help="Runs of each panel query."),
    old_repeat: int = typer.Option(
        1, min=0, help="Runs of each care overview query on 0004's raw view (0: skip)."
    ),
    old_timeout: float = typer.Option(20.0, min=1, help="Seconds before a raw-view query is cut off."),
    api_seconds: float = typer.Option(5.0, min=0, help="Seconds per API read and client count (0: skip)."),
    clients: str = typer.Option("1,8", help="Concurrent API clients, comma-separated."),
    ingest_readings: int = typer.Option(20_000, min=0, help="Readings per ingest run (0: skip)."),
    explain: int = typer.Option(
        3, min=0, help="EXPLAIN (ANALYZE, BUFFERS) this many of the slowest queries."
    ),
    report_path: Path | None = typer.Option(None, "--report", help="Also write the Markdown report here."),
    seed_only: bool = typer.Option(False, "--seed-only", help="Seed (or resume seeding), then stop."),
    api_only: bool = typer.Option(
        False, "--api-only", help="After the seed, time only the API reads (no disk, panels, ingest)."
    ),
    api_workers: int = typer.Option(1, min=1, max=32, help="uvicorn workers of the API under test."),
) -> None:
    """Seed a municipality-sized TimescaleDB (resumably) and time dashboards, API and ingest on it."""
    report = Report(sys.stdout)
    client_counts = tuple(int(c) for c in clients.split(",") if c.strip())
    try:
        with _database(dsn, data_dir) as url:
            run_benchmark(
                url,
                citizens=citizens,
                days=days,
                chunk=chunk,
                repeat=repeat,
                old_repeat=old_repeat,
                old_timeout=old_timeout,
                api_seconds=api_seconds,
                clients=client_counts,
                ingest_readings=ingest_readings,
                explain=explain,
                report=report,
                seed_only=seed_only,
                api_only=api_only,
                api_workers=api_workers,
            )
    except SeedMismatch as error:
        _note(str(error))
        raise typer.Exit(code=2) from error
    if report_path is not None:
        report_path.write_text("\n".join(report.parts) + "\n", encoding="utf-8")
        _note(f"wrote {report_path}")
