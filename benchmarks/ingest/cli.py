"""``homevitals bench ingest`` and ``homevitals bench writer`` (docs/benchmarks.md#ingest)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from benchmarks.ingest.ceiling import run_copy_ceiling
from benchmarks.ingest.fleet import Fleet
from benchmarks.ingest.naive import per_row_main, run_subscriber
from benchmarks.ingest.profile import breakdown_table
from benchmarks.ingest.reference import reference_main
from benchmarks.ingest.run import RunResult, run_ingest
from benchmarks.ingest.writers import compare_writers
from benchmarks.report import cpus, header, markdown_table
from benchmarks.services import services

PG_OPTION = typer.Option(
    None,
    "--postgres",
    help="libpq URL of an existing server's maintenance database (CREATE DATABASE rights); "
    "default: start a throwaway one.",
    show_default=False,
)
MQTT_HOST_OPTION = typer.Option("127.0.0.1", "--mqtt-host", help="Broker host when --mqtt-port is given.")
MQTT_PORT_OPTION = typer.Option(
    None, "--mqtt-port", help="Use this broker; default: start a throwaway Mosquitto.", show_default=False
)
DURABLE_OPTION = typer.Option(
    True, "--durable/--no-durable", help="Throwaway PostgreSQL with fsync on (like production) or off."
)


# Issue 17's floors on the 2-core box, readings/s by readings per message.
FLOORS = {20: 25_000, 1: 8_000}


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f}"


def _row(r: RunResult) -> tuple[object, ...]:
    return (
        r.name,
        r.per_message,
        f"{r.readings:,}",
        f"{r.stored:,}",
        f"{r.stored - r.distinct:,}",
        f"{r.rate:,.0f}",
        _ms(r.p50),
        _ms(r.p99),
        r.note,
    )


COLUMNS = (
    "mode",
    "readings per message",
    "sent",
    "stored",
    "duplicates",
    "readings/s",
    "p50 ms",
    "p99 ms",
    "count",
)


def ingest(
    readings: int = typer.Option(100_000, help="Readings per mode."),
    gateways: int = typer.Option(200, help="Simulated gateways (4 assigned devices each)."),
    publishers: int = typer.Option(2, help="Publisher processes."),
    workers: int = typer.Option(1, help="Ingest worker processes on the shared subscription."),
    modes: str = typer.Option("20,1", help="Readings per message, comma separated."),
    naive: bool = typer.Option(
        True, "--naive/--no-naive", help="Run the naive reference subscriber (COPY, no validation) too."
    ),
    per_row_readings: int = typer.Option(
        0, help="Readings for the per-row INSERT subscriber (it is slow); 0 skips it."
    ),
    ceiling: bool = typer.Option(True, "--ceiling/--no-ceiling", help="COPY the same rows straight in too."),
    batch_max_readings: int = typer.Option(500, help="INGEST_BATCH_MAX_READINGS of the worker."),
    batch_max_wait_ms: int = typer.Option(50, help="INGEST_BATCH_MAX_WAIT_MS of the worker."),
    rate: float = typer.Option(
        0, help="Publish at this many readings/s in total (for latency below saturation); 0: flat out."
    ),
    profile: Path | None = typer.Option(
        None, help="Attach py-spy to each worker, keep its stacks in this folder, print where the time went."
    ),
    postgres: str | None = PG_OPTION,
    mqtt_host: str = MQTT_HOST_OPTION,
    mqtt_port: int | None = MQTT_PORT_OPTION,
    durable: bool = DURABLE_OPTION,
) -> None:
    """Ingest beside the naive reference subscriber in one run: readings/s, p50/p99 publish ->
    commit, exact counts from the database, CPU per process."""
    fleet = Fleet(gateways=gateways)
    print(header(durable=durable))
    summary: list[RunResult] = []
    failed = False
    with services(postgres, mqtt_host if mqtt_port else None, mqtt_port, durable) as svc:
        for per_message in (int(m) for m in modes.split(",")):
            common = {"readings": readings, "per_message": per_message, "publishers": publishers}
            baseline = (
                run_subscriber(svc, fleet, name="naive", target=reference_main, **common) if naive else None
            )
            result = run_ingest(
                svc,
                fleet,
                workers=workers,
                batch_max_readings=batch_max_readings,
                batch_max_wait_ms=batch_max_wait_ms,
                readings_per_s=rate or None,
                profile_dir=profile,
                **common,
            )
            per_row = (
                run_subscriber(
                    svc,
                    fleet,
                    name="per-row INSERT",
                    target=per_row_main,
                    limit_readings=per_row_readings,
                    **common,
                )
                if per_row_readings
                else None
            )
            copied = run_copy_ceiling(svc, fleet, readings, per_message) if ceiling else None
            rows = [r for r in (baseline, result, per_row, copied) if r is not None]
            summary += [r for r in (baseline, result) if r is not None]
            print(
                f"\n## {per_message} reading(s) per message, {result.readings:,} readings, "
                f"{gateways} gateways, {publishers} publishers, {workers} worker(s)\n"
            )
            print(markdown_table(COLUMNS, [_row(r) for r in rows], numeric_from=1))
            print(f"\npublishers finished after {result.publish_seconds:.2f} s")
            cpu = ", ".join(f"{k} {v:.1f} s" for k, v in result.cpu.items() if k != "machine_busy_fraction")
            busy = result.cpu.get("machine_busy_fraction", 0.0)
            print(f"CPU during the homevitals run: {cpu}; machine busy {busy:.0%} of {cpus()} cores")
            if result.stored:
                for name in ("ingest", "postgres"):
                    print(f"{name} CPU per reading: {result.cpu.get(name, 0) / result.stored * 1e6:.0f} µs")
            if baseline is not None:
                print(f"homevitals / naive: {result.rate / baseline.rate:.2f}")
                if baseline.stored:
                    print(
                        "naive CPU per reading: "
                        f"subscriber {baseline.cpu.get('subscriber', 0) / baseline.stored * 1e6:.0f} µs, "
                        f"postgres {baseline.cpu.get('postgres', 0) / baseline.stored * 1e6:.0f} µs"
                    )
            if profile is not None:
                files = sorted(profile.glob(f"ingest-{per_message}-worker*.txt"))
                print("\nwhere the ingest worker's time went (py-spy --gil):\n")
                print(breakdown_table(files, result.stored))
            failed = failed or any(r.note != "exact" for r in rows if r is not copied)
    print("\n## against the floors\n")
    print(
        markdown_table(
            (*COLUMNS[:2], "readings/s", "floor", "met"),
            [
                (
                    r.name,
                    r.per_message,
                    f"{r.rate:,.0f}",
                    f"{FLOORS.get(r.per_message, 0):,}",
                    "yes" if r.rate >= FLOORS.get(r.per_message, 0) else "NO",
                )
                for r in summary
            ],
        )
    )
    if failed:
        print("EXACT COUNT FAILED", file=sys.stderr)
        raise typer.Exit(code=1)


def writer(
    readings: int = typer.Option(50_000, help="Readings to write with each method."),
    gateways: int = typer.Option(200, help="Simulated gateways (4 assigned devices each)."),
    per_message: int = typer.Option(20, help="Readings per message."),
    batch_readings: int = typer.Option(500, help="Readings per transaction."),
    without_fks: bool = typer.Option(
        False,
        help="Also time production's strategy with the readings' foreign keys per row (schema 0009) "
        "and with 0010's per-row parents trigger on.",
    ),
    postgres: str | None = PG_OPTION,
    durable: bool = DURABLE_OPTION,
) -> None:
    """Compare write methods on the same batches, database only: COPY+ledger vs executemany+ledger."""
    print(header(durable=durable))
    with services(postgres, None, None, durable) as svc:
        results = compare_writers(
            svc,
            Fleet(gateways=gateways),
            readings=readings,
            per_message=per_message,
            batch_readings=batch_readings,
            without_fks=without_fks,
        )
    print()
    print(
        markdown_table(
            (f"method ({batch_readings} readings per transaction)", "readings", "seconds", "readings/s",
             "PostgreSQL CPU µs/reading", "Python CPU µs/reading"),
            [
                (r.method, r.readings, f"{r.seconds:.2f}", f"{r.rate:,.0f}",
                 f"{r.postgres_cpu_s / r.readings * 1e6:.0f}", f"{r.python_cpu_s / r.readings * 1e6:.0f}")
                for r in results
            ],
        )
    )
