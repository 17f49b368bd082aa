"""The two runs of the backlog benchmark, on the same broker, the same database server and the
same ingest configuration, each on a fresh database with the same fleet:

1. baseline: the ingest benchmark's plain publisher processes (benchmarks/ingest/publisher.py)
   publish the backlog as fast as the broker takes it: no outbox, no hub acks, no accounts;
2. gateways: the backlog sits in each gateway's real SQLite outbox, and all the gateways'
   real publishers connect together ("go") and drain it through hub acks.

Each run ends when ingest has stored every reading (and, for the gateways, when every outbox
is empty), or when nothing moved for ``stall_s``. Counts come from the database and from the
outbox files themselves.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from benchmarks.backlog.gateways import GroupSpec, drain_events, group_main
from benchmarks.backlog.hub import HubSecrets, IngestWorkers
from benchmarks.ingest.fleet import Fleet, seed
from benchmarks.ingest.publisher import publish
from benchmarks.ingest.run import db_counts
from benchmarks.procstat import CpuProbe, pids_matching, postgres_pids
from benchmarks.report import say
from benchmarks.services import Services

STORED = "ingest_readings_stored_total"


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass(frozen=True)
class RunOptions:
    readings_per_gateway: int
    per_message: int
    processes: int
    workers: int
    seed_value: int
    report_every_s: float
    stall_s: float
    log_dir: Path


@dataclass
class Tick:
    seconds: float  # since go
    committed: int
    outboxes_left: int | None
    readings_left: int | None
    load: float


@dataclass
class DrainResult:
    name: str
    gateways: int
    readings: int
    stored: int = 0
    distinct: int = 0
    ledger: int = 0
    seconds_committed: float | None = None  # go -> the last reading stored
    seconds_emptied: float | None = None  # go -> the last outbox emptied by hub acks
    outbox_rows_left: int | None = None
    outboxes_left: int | None = None
    hub_rejected: int | None = None
    batches_sent: int | None = None
    batches_resent: int | None = None
    connects: int | None = None
    hub_duplicates: int = 0  # readings ingest received again and absorbed (re-sends)
    messages: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    load_start: float = 0.0
    load_max: float = 0.0
    ticks: list[Tick] = field(default_factory=list)
    note: str = ""

    @property
    def rate(self) -> float:
        return self.readings / self.seconds_committed if self.seconds_committed else 0.0

    @property
    def exact(self) -> bool:
        counts = self.stored == self.distinct == self.ledger == self.readings
        return counts and self.outbox_rows_left in (None, 0) and not self.hub_rejected


def _bounds(gateways: int, processes: int) -> list[int]:
    # As benchmarks.ingest.publisher.publish splits them: the same gateways per process.
    return [round(i * gateways / processes) for i in range(processes + 1)]


def _probe(svc: Services, workers: IngestWorkers, senders: Callable[[], list[int]]) -> CpuProbe:
    return CpuProbe(
        {
            "ingest": workers.pids,
            "postgres": postgres_pids(svc.postgres),
            "mosquitto": pids_matching(str(svc.mosquitto.config_path)) if svc.mosquitto else list,
            "senders": senders,
        }
    )


def _finish(result: DrainResult, dsn: str, workers: IngestWorkers, probe: CpuProbe) -> None:
    result.cpu = probe.stop()
    result.hub_duplicates = int(workers.metric("ingest_readings_duplicate_total"))
    result.messages = int(workers.metric("ingest_messages_received_total"))
    result.stored, result.distinct, result.ledger, _first, _last = db_counts(dsn)


def _progress_line(name: str, tick: Tick, previous: Tick | None, expected: int) -> str:
    rate = (
        (tick.committed - previous.committed) / max(1e-9, tick.seconds - previous.seconds)
        if previous is not None
        else 0.0
    )
    outboxes = (
        f", outboxes left {tick.outboxes_left:,} ({tick.readings_left:,} readings)"
        if tick.outboxes_left is not None and tick.readings_left is not None
        else ""
    )
    return (
        f"[{name}] {tick.seconds:6.1f} s: committed {tick.committed:,}/{expected:,} "
        f"({rate:,.0f}/s){outboxes}, load {tick.load:.1f}"
    )


@dataclass(frozen=True)
class _Senders:
    """How one run's senders take part in :func:`_drain`."""

    pids: Callable[[], list[int]]  # for the CPU probe
    go: Callable[[], None]  # start sending (the clock starts with it)
    started: Callable[[], float | None]  # the wall-clock time of "go", once known
    poll_outboxes: Callable[[], tuple[int, int, bool]] | None  # outboxes left, rows left, all done
    settle: Callable[[], None]  # after the last commit: let the senders finish


def _drain(svc: Services, dsn: str, hub: HubSecrets, o: RunOptions, result: DrainResult, label: str,
           senders: _Senders) -> None:
    """The part both runs share: real ingest workers up, the CPU probe on, go, watch until every
    reading is stored, then count in the database and stop the workers."""
    ingest = IngestWorkers(dsn, svc.mqtt_host, svc.mqtt_port, hub, o.workers, o.log_dir, label)
    ingest.start()
    try:
        probe = _probe(svc, ingest, senders.pids)
        result.load_start = load_average()
        probe.start()
        senders.go()
        _watch(result, ingest, result.readings, o.report_every_s, o.stall_s, senders.started,
               senders.poll_outboxes)
        senders.settle()
        _finish(result, dsn, ingest, probe)
    finally:
        ingest.stop()


def run_baseline(
    svc: Services,
    dsn: str,
    fleet: Fleet,
    hub: HubSecrets,
    o: RunOptions,
) -> DrainResult:
    expected = fleet.gateways * o.readings_per_gateway
    result = DrainResult("plain publisher: no outbox, no hub acks", fleet.gateways, expected)
    published: dict[str, Any] = {}

    def send() -> None:
        published["reports"], published["t0"] = publish(
            svc,
            fleet,
            readings=expected,
            per_message=o.per_message,
            publishers=o.processes,
            seed_value=o.seed_value,
        )

    sender = threading.Thread(target=send, name="baseline-publish", daemon=True)
    _drain(svc, dsn, hub, o, result, "baseline", _Senders(
        pids=list,  # publish() measures its own processes' CPU (they are gone before the probe stops)
        go=sender.start,
        started=lambda: published.get("t0"),
        poll_outboxes=None,
        settle=lambda: sender.join(timeout=60),
    ))
    result.cpu["senders"] = sum(report[4] for report in published.get("reports", []))
    return result


def _watch(
    result: DrainResult,
    ingest: IngestWorkers,
    expected: int,
    report_every_s: float,
    stall_s: float,
    started: Callable[[], float | None],
    poll_outboxes: Callable[[], tuple[int, int, bool]] | None,
) -> None:
    """Poll until every reading is stored (and the outboxes are empty), printing progress."""
    last_print: Tick | None = None
    last_change, last_seen = time.monotonic(), (-1, -1)
    while True:
        time.sleep(0.25)
        t0 = started()
        if t0 is None:
            continue
        committed = int(ingest.metric(STORED))
        outboxes_left = readings_left = None
        finished = True
        if poll_outboxes is not None:
            outboxes_left, readings_left, finished = poll_outboxes()
        now = time.time()
        load = load_average()
        result.load_max = max(result.load_max, load)
        tick = Tick(now - t0, committed, outboxes_left, readings_left, load)
        if result.seconds_committed is None and committed >= expected:
            result.seconds_committed = tick.seconds
        if last_print is None or tick.seconds - last_print.seconds >= report_every_s:
            say(_progress_line(result.name.split(":")[0], tick, last_print, expected), err=True)
            result.ticks.append(tick)
            last_print = tick
        if result.seconds_committed is not None and finished:
            result.ticks.append(tick)
            return
        seen = (committed, readings_left if readings_left is not None else -1)
        if seen != last_seen:
            last_seen, last_change = seen, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            result.note = f"stalled: nothing moved for {stall_s:.0f} s"
            say(f"[{result.name}] {result.note}", err=True)
            return


def run_gateways(
    svc: Services,
    dsn: str,
    fleet: Fleet,
    hub: HubSecrets,
    o: RunOptions,
) -> DrainResult:
    expected = fleet.gateways * o.readings_per_gateway
    result = DrainResult("gateways: outbox + hub acks", fleet.gateways, expected)
    folder = Path(tempfile.mkdtemp(prefix="homevitals-backlog-outboxes-"))
    context = mp.get_context("spawn")
    go, events = context.Event(), context.Queue()
    bounds = _bounds(fleet.gateways, o.processes)
    groups = []
    try:
        for i in range(o.processes):
            spec = GroupSpec(
                i, fleet, (bounds[i], bounds[i + 1]), o.readings_per_gateway, o.per_message, o.seed_value,
                svc.mqtt_host, svc.mqtt_port, hub.gateway_password, str(folder),
            )
            process = context.Process(target=group_main, args=(spec, go, events), daemon=True)
            process.start()
            groups.append(process)
        ready = _seed_with_progress(events, o.processes, expected)
        say(f"outboxes seeded: {sum(ready.values()):,} readings in {fleet.gateways:,} files under {folder}",
            err=True)
        status: dict[int, dict[str, int]] = {}
        done: dict[int, tuple[Any, ...]] = {}
        t0_box: list[float] = []

        def poll() -> tuple[int, int, bool]:
            for event in drain_events(events, 0):
                if event[0] == "status":
                    status[event[1]] = event[3]
                elif event[0] == "done":
                    done[event[1]] = event
                    status[event[1]] = event[4]
                elif event[0] == "failed":
                    raise RuntimeError(f"gateway process {event[1]} failed: {event[2]}")
            left = sum(s["outboxes_left"] for s in status.values()) if status else fleet.gateways
            depth = sum(s["depth"] for s in status.values()) if status else expected
            return left, depth, len(done) == o.processes

        def go_now() -> None:
            t0_box.append(time.time())
            go.set()  # every gateway reconnects now

        _drain(svc, dsn, hub, o, result, "gateways", _Senders(
            pids=lambda: [p.pid for p in groups if p.pid is not None],
            go=go_now,
            started=lambda: t0_box[0],
            poll_outboxes=poll,
            settle=lambda: _wait_for(lambda: poll()[2], seconds=120),  # the publishers stop: offline status
        ))
        _collect(result, done, o.processes, t0_box[0])
        return result
    finally:
        for process in groups:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)


def _collect(result: DrainResult, done: dict[int, tuple[Any, ...]], processes: int, t0: float) -> None:
    """The gateway processes' final reports: when each emptied, and what its outbox files hold."""
    if len(done) < processes:
        result.note = (result.note + "; " if result.note else "") + "gateway processes did not finish"
        return
    result.seconds_emptied = max(float(event[2]) for event in done.values()) - t0
    result.outbox_rows_left = sum(int(event[5]) for event in done.values())
    result.hub_rejected = sum(int(event[6]) for event in done.values())
    totals = [event[4] for event in done.values()]
    result.outboxes_left = sum(t["outboxes_left"] for t in totals)
    result.batches_sent = sum(t["batches_sent"] for t in totals)
    result.batches_resent = sum(t["batches_resent"] for t in totals)
    result.connects = sum(t["connects"] for t in totals)
    result.cpu["senders"] = sum(float(event[3]) for event in done.values())


def _seed_with_progress(events: Any, processes: int, expected: int) -> dict[int, int]:
    ready: dict[int, int] = {}
    with typer.progressbar(length=expected, label="seeding outboxes", file=sys.stderr) as bar:
        while len(ready) < processes:
            for event in drain_events(events, 1.0):
                if event[0] == "seeded":
                    bar.update(int(event[2]))
                elif event[0] == "ready":
                    ready[event[1]] = int(event[3])
                elif event[0] == "failed":
                    raise RuntimeError(f"gateway process {event[1]} failed: {event[2]}")
    return ready


def fresh_fleet_database(svc: Services, name: str, fleet: Fleet) -> str:
    dsn = svc.fresh_database(name)
    seed(dsn, fleet)
    return dsn
