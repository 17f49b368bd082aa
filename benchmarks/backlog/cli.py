"""``homevitals bench backlog``: a backlog in every gateway's outbox, all gateways reconnecting
together (issue 17: "a 1 M-reading backlog from 1,000 gateways ... drained in < 2 min, exact
count"; docs/benchmarks.md)."""

from __future__ import annotations

import contextlib
import secrets
import sys
import tempfile
from pathlib import Path

import typer

from benchmarks.backlog.gateways import raise_file_limit, shipped_policy
from benchmarks.backlog.hub import HubSecrets, backlog_broker, provision
from benchmarks.backlog.run import DrainResult, RunOptions, fresh_fleet_database, run_baseline, run_gateways
from benchmarks.ingest.fleet import Fleet
from benchmarks.report import cpus, header, markdown_table, say
from benchmarks.services import services
from homevitals.logging import configure_logging

TARGET_S = 120.0  # issue 17: drained in < 2 min

COLUMNS = (
    "run",
    "gateways",
    "readings",
    "stored",
    "duplicates",
    "outboxes left (rows)",
    "s to last commit",
    "s to outboxes empty",
    "readings/s",
    "batches sent / re-sent",
    "re-sent readings absorbed",
    "ingest CPU s",
    "PostgreSQL CPU s",
    "Mosquitto CPU s",
    "senders CPU s",
    "load avg start / max",
)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _row(r: DrainResult) -> tuple[object, ...]:
    outboxes = "-" if r.outbox_rows_left is None else f"{r.outboxes_left:,} ({r.outbox_rows_left:,})"
    sent = "-" if r.batches_sent is None else f"{r.batches_sent:,} / {r.batches_resent:,}"
    return (
        r.name,
        f"{r.gateways:,}",
        f"{r.readings:,}",
        f"{r.stored:,}",
        f"{r.stored - r.distinct:,}",
        outboxes,
        _s(r.seconds_committed),
        _s(r.seconds_emptied),
        f"{r.rate:,.0f}" if r.seconds_committed else "-",
        sent,
        f"{r.hub_duplicates:,}",
        f"{r.cpu.get('ingest', 0):,.1f}",
        f"{r.cpu.get('postgres', 0):,.1f}",
        f"{r.cpu.get('mosquitto', 0):,.1f}",
        f"{r.cpu.get('senders', 0):,.1f}",
        f"{r.load_start:.1f} / {r.load_max:.1f}",
    )


def _per_reading(r: DrainResult) -> str:
    if not r.stored:
        return f"{r.name}: nothing stored"
    parts = ", ".join(
        f"{name} {r.cpu.get(name, 0) / r.stored * 1e6:,.0f} µs"
        for name in ("ingest", "postgres", "mosquitto", "senders")
    )
    busy = r.cpu.get("machine_busy_fraction", 0.0)
    return f"{r.name}: CPU per stored reading: {parts}; machine busy {busy:.0%} of {cpus()} cores"


def _timeline(r: DrainResult) -> str:
    rows = []
    previous = None
    for tick in r.ticks:
        rate = (
            (tick.committed - previous.committed) / max(1e-9, tick.seconds - previous.seconds)
            if previous is not None
            else 0.0
        )
        rows.append(
            (
                f"{tick.seconds:,.1f}",
                f"{tick.committed:,}",
                f"{rate:,.0f}",
                "-" if tick.outboxes_left is None else f"{tick.outboxes_left:,}",
                "-" if tick.readings_left is None else f"{tick.readings_left:,}",
                f"{tick.load:.1f}",
            )
        )
        previous = tick
    columns = ("s since go", "committed", "readings/s since last line", "outboxes left", "readings left",
               "load avg")
    return markdown_table(columns, rows, numeric_from=0)


def backlog(
    gateways: int = typer.Option(1000, help="Gateways, each with its own outbox, account and paho client."),
    readings_per_gateway: int = typer.Option(1000, help="Readings in each gateway's outbox at go."),
    processes: int = typer.Option(4, help="Processes the gateways (and the baseline's publishers) run in."),
    workers: int = typer.Option(1, help="Ingest worker processes on the shared subscription."),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline", help="First the same backlog from the plain publisher."
    ),
    seed_value: int = typer.Option(17, "--seed", help="Seed of the deterministic readings."),
    report_every: float = typer.Option(5.0, help="Seconds between progress lines (stderr)."),
    stall_timeout: float = typer.Option(
        900.0, help="Give up when nothing was stored and no outbox shrank for this long."
    ),
    postgres: str | None = typer.Option(
        None, "--postgres", help="libpq URL of a server's maintenance database; default: a throwaway one.",
        show_default=False,
    ),
    durable: bool = typer.Option(
        True, "--durable/--no-durable", help="Throwaway PostgreSQL with fsync on (like production) or off."
    ),
) -> None:
    """A backlog in every gateway's real outbox; all gateways reconnect together and drain it
    through the real broker (accounts, ACLs) and ingest, hub acks and all. Exact counts from
    the database and the outbox files; the plain publisher's run of the same readings beside it."""
    configure_logging("WARNING", "console")
    files = raise_file_limit()
    fleet = Fleet(gateways=gateways)
    batch_size, window, linger, hub_acks = shipped_policy()
    print(header(durable=durable))
    print(
        f"# gateways: batch {batch_size}, {window} awaiting PUBACK, {hub_acks.initial_window} to "
        f"{hub_acks.window} awaiting the hub ack (adaptive), ack timeout at least {hub_acks.timeout_s:g} s "
        f"(adaptive), doubling to {hub_acks.timeout_max_s:g} s, "
        f"linger {linger:g} s; "
        f"{processes} processes; open files limit {files:,}"
    )
    hub = HubSecrets()
    results: list[DrainResult] = []
    log_dir = Path(tempfile.mkdtemp(prefix="homevitals-backlog-logs-"))
    with contextlib.ExitStack() as stack:
        broker = stack.enter_context(backlog_broker())
        ids = [fleet.gateway_id(g) for g in range(gateways)]
        with typer.progressbar(length=len(ids), label="broker accounts", file=sys.stderr) as bar:

            def counted(line: str) -> None:
                if line.startswith("gateway "):
                    bar.update(1)

            provision(broker, ids, workers, hub, counted)
        svc = stack.enter_context(services(postgres, "127.0.0.1", broker.port, durable))
        svc.mosquitto = broker
        options = RunOptions(
            readings_per_gateway=readings_per_gateway,
            per_message=batch_size,
            processes=processes,
            workers=workers,
            seed_value=seed_value,
            report_every_s=report_every,
            stall_s=stall_timeout,
            log_dir=log_dir,
        )
        names = []
        if baseline:
            name = f"bench_backlog_baseline_{secrets.token_hex(3)}"
            names.append(name)
            results.append(run_baseline(svc, fresh_fleet_database(svc, name, fleet), fleet, hub, options))
        name = f"bench_backlog_gateways_{secrets.token_hex(3)}"
        names.append(name)
        results.append(run_gateways(svc, fresh_fleet_database(svc, name, fleet), fleet, hub, options))
        for name in names:
            svc.drop_database(name)
    print(f"\n## A {gateways * readings_per_gateway:,}-reading backlog from {gateways:,} gateways\n")
    print(markdown_table(COLUMNS, [_row(r) for r in results], numeric_from=1))
    print()
    for r in results:
        print(_per_reading(r))
        if r.note:
            print(f"{r.name}: {r.note}")
    for r in results:
        print(f"\n### {r.name}: progress\n")
        print(_timeline(r))
    gateways_run = results[-1]
    emptied = gateways_run.seconds_emptied
    met = gateways_run.exact and emptied is not None and emptied < TARGET_S
    print(
        f"\ntarget: drained in < {TARGET_S:.0f} s with an exact count: "
        f"{'met' if met else 'NOT met'} (outboxes empty after {_s(gateways_run.seconds_emptied)} s, "
        f"count {'exact' if gateways_run.exact else 'NOT exact'})"
    )
    say(f"ingest logs: {log_dir}", err=True)
    if not all(r.exact for r in results):
        say("EXACT COUNT FAILED", err=True)
        raise typer.Exit(code=1)
