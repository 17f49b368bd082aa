"""``homevitals bench ingest`` and ``homevitals bench writer`` (docs/benchmarks.md#ingest)."""

from __future__ import annotations

import sys

import typer

from benchmarks.ingest.ceiling import run_copy_ceiling
from benchmarks.ingest.fleet import Fleet
from benchmarks.ingest.naive import run_naive
from benchmarks.ingest.run import run_ingest
from benchmarks.ingest.writers import compare_writers
from benchmarks.report import cpus, header
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


def ingest(
    readings: int = typer.Option(100_000, help="Readings per mode."),
    gateways: int = typer.Option(200, help="Simulated gateways (4 assigned devices each)."),
    publishers: int = typer.Option(2, help="Publisher processes."),
    workers: int = typer.Option(1, help="Ingest worker processes on the shared subscription."),
    modes: str = typer.Option("1,20", help="Readings per message, comma separated."),
    naive_readings: int = typer.Option(
        10_000, help="Readings for the naive baseline (it is slow); 0 skips it."
    ),
    batch_max_readings: int = typer.Option(500, help="INGEST_BATCH_MAX_READINGS of the worker."),
    batch_max_wait_ms: int = typer.Option(50, help="INGEST_BATCH_MAX_WAIT_MS of the worker."),
    rate: float = typer.Option(
        0, help="Publish at this many readings/s in total (for latency below saturation); 0: flat out."
    ),
    postgres: str | None = PG_OPTION,
    mqtt_host: str = MQTT_HOST_OPTION,
    mqtt_port: int | None = MQTT_PORT_OPTION,
    durable: bool = DURABLE_OPTION,
) -> None:
    """Throughput, latency, CPU and exact count of ingest, next to a naive subscriber and raw COPY."""
    fleet = Fleet(gateways=gateways)
    print(header(durable=durable))
    with services(postgres, mqtt_host if mqtt_port else None, mqtt_port, durable) as svc:
        for per_message in (int(m) for m in modes.split(",")):
            result = run_ingest(
                svc,
                fleet,
                readings=readings,
                per_message=per_message,
                publishers=publishers,
                workers=workers,
                batch_max_readings=batch_max_readings,
                batch_max_wait_ms=batch_max_wait_ms,
                readings_per_s=rate or None,
            )
            naive = (
                run_naive(
                    svc,
                    fleet,
                    readings=readings,
                    per_message=per_message,
                    publishers=publishers,
                    limit_readings=naive_readings,
                )
                if naive_readings
                else None
            )
            ceiling = run_copy_ceiling(svc, fleet, readings, per_message)
            print(
                f"\n## {per_message} reading(s) per message, {result.readings} readings, "
                f"{gateways} gateways, {publishers} publishers, {workers} worker(s)"
            )
            print("| contender | readings | stored | seconds | readings/s | p50 ms | p99 ms | count |")
            print("|---|---:|---:|---:|---:|---:|---:|---|")
            for r in (result, naive, ceiling):
                if r is None:
                    continue
                p50 = f"{r.p50 * 1000:.0f}" if r.p50 is not None else "-"
                p99 = f"{r.p99 * 1000:.0f}" if r.p99 is not None else "-"
                print(
                    f"| {r.name} | {r.readings} | {r.stored} | {r.seconds:.2f} | {r.rate:,.0f} "
                    f"| {p50} | {p99} "
                    f"| {r.note} |"
                )
            print(f"\npublishers finished after {result.publish_seconds:.2f} s")
            cpu = ", ".join(f"{k} {v:.1f} s" for k, v in result.cpu.items() if k != "machine_busy_fraction")
            busy = result.cpu.get("machine_busy_fraction", 0.0)
            print(f"CPU during the ingest run: {cpu}; machine busy {busy:.0%} of {cpus()} cores")
            if result.stored:
                print(
                    "ingest CPU per 1,000 readings: "
                    f"{result.cpu.get('ingest', 0) / result.stored * 1000:.3f} s"
                )
            if naive is not None:
                print(f"ratio ingest/naive: {result.rate / naive.rate:.1f}x")
            print(f"ratio ingest/COPY ceiling: {result.rate / ceiling.rate:.2f}")
            if result.note != "exact":
                print("EXACT COUNT FAILED", file=sys.stderr)
                raise typer.Exit(code=1)


def writer(
    readings: int = typer.Option(50_000, help="Readings to write with each method."),
    gateways: int = typer.Option(200, help="Simulated gateways (4 assigned devices each)."),
    per_message: int = typer.Option(20, help="Readings per message."),
    batch_readings: int = typer.Option(500, help="Readings per transaction."),
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
        )
    print(f"\n| method ({batch_readings} readings per transaction) | readings | seconds | readings/s |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(f"| {r.method} | {r.readings} | {r.seconds:.2f} | {r.rate:,.0f} |")
