"""Write the scale data set into a migrated database: COPY, in resumable chunks.

The homes (citizens, gateways, devices, assignments) go in first, in one transaction. The
readings follow in chunks of citizens, each chunk one transaction that also holds their
ledger rows, their alerts, their summary rows (added by ingest's own
:func:`ingest.summaries.record`, as ingest would) and a row in ``bench_scale_chunks``. An
interrupted seed therefore resumes at the first chunk without that row, and regenerates
exactly the rows it would have written (dataset.py is deterministic).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import psycopg

from benchmarks.scale import dataset as ds
from database.summaries import summary_differences
from ingest import summaries
from ingest.write_strategy import StoredRow

READING_COLUMNS: Final = (
    "measured_at",
    "reading_id",
    "kind",
    "device_id",
    "user_slot",
    "citizen_id",
    "assignment_id",
    "gateway_id",
    "batch_seq",
    "device_time",
    "gateway_time",
    "time_source",
    "received_at",
    "unit",
    "systolic",
    "diastolic",
    "mean_arterial_pressure",
    "pulse_rate",
    "value",
    "values",
    "status",
    "implausible",
    "implausible_reasons",
    "raw_uuid",
    "raw",
)
ALERT_COLUMNS: Final = (
    "citizen_id",
    "metric",
    "level",
    "state",
    "reading_id",
    "measured_at",
    "value",
    "message",
    "opened_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
)

_RUN_TABLES: Final = """
CREATE TABLE IF NOT EXISTS bench_scale_run (
  citizens integer NOT NULL, days integer NOT NULL, end_at timestamptz NOT NULL, chunk integer NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_scale_chunks (
  chunk integer PRIMARY KEY, readings bigint NOT NULL, seconds double precision NOT NULL,
  done_at timestamptz NOT NULL DEFAULT now()
);
"""


class SeedMismatch(RuntimeError):
    """The database holds a seed of other sizes: resuming it would mix two data sets."""

    def __init__(self, held: tuple[int, int], asked: tuple[int, int]) -> None:
        super().__init__(
            f"this database holds a scale seed of {held[0]} citizens x {held[1]} days, not "
            f"{asked[0]} x {asked[1]}; pass the same --citizens/--days to resume it, or another --dsn"
        )
        self.held, self.asked = held, asked


@dataclass(frozen=True)
class Home:
    citizen_id: int
    bp_device: int
    bp_assignment: int
    scale_device: int | None
    scale_assignment: int | None
    unassigned_device: int | None


@dataclass
class SeedReport:
    scale: ds.Scale
    readings: int
    chunks_written: int
    seconds: float
    rate: float
    sample_problems: list[str]


def _run_row(conn: psycopg.Connection[Any], citizens: int, days: int, chunk: int) -> ds.Scale:
    conn.execute(_RUN_TABLES)
    row = conn.execute("SELECT citizens, days, end_at FROM bench_scale_run").fetchone()
    if row is None:
        end = datetime.now(UTC).replace(microsecond=0)
        conn.execute("INSERT INTO bench_scale_run VALUES (%s, %s, %s, %s)", (citizens, days, end, chunk))
        return ds.Scale(citizens, days, end)
    if (row[0], row[1]) != (citizens, days):
        raise SeedMismatch((row[0], row[1]), (citizens, days))
    return ds.Scale(citizens, days, row[2])


def _create_homes(conn: psycopg.Connection[Any], scale: ds.Scale) -> None:
    indexes = range(1, scale.citizens + 1)
    with conn.cursor() as cur:
        with cur.copy(
            "COPY citizens (given_name, family_name, care_team, timezone, birth_date) FROM STDIN"
        ) as copy:
            for i in indexes:
                copy.write_row(
                    ("Borger", f"Nr {i}", ds.team(i), ds.TIMEZONE, f"19{30 + i % 60}-0{1 + i % 9}-1{i % 10}")
                )
        now = scale.end
        with cur.copy(
            "COPY gateways (gateway_id, state, last_seen, first_seen, version, outbox_depth) FROM STDIN"
        ) as copy:
            for i in indexes:
                offline = i % 100 == 7
                seen = now - timedelta(hours=30) if offline else now
                copy.write_row(
                    (ds.gateway_id(i), "offline" if offline else "online", seen, scale.start, "1.4.0", 0)
                )
        with cur.copy(
            "COPY devices (address, kind, model, manufacturer, battery_level, battery_at, first_seen, "
            "last_seen, last_gateway_id) FROM STDIN"
        ) as copy:
            for i in indexes:
                battery = 1 + (i * 37) % 100
                copy.write_row(
                    (
                        ds.bp_address(i),
                        "blood_pressure",
                        "UA-651BLE",
                        "A&D Medical",
                        battery,
                        now,
                        scale.start,
                        now,
                        ds.gateway_id(i),
                    )
                )
                if ds.has_weight(i):
                    copy.write_row(
                        (
                            ds.scale_address(i),
                            "weight",
                            "UC-352BLE",
                            "A&D Medical",
                            90,
                            now,
                            scale.start,
                            now,
                            ds.gateway_id(i),
                        )
                    )
                if ds.has_unassigned(i):
                    copy.write_row(
                        (
                            ds.unassigned_address(i),
                            "blood_pressure",
                            "M7 Intelli IT",
                            "Omron",
                            60,
                            now,
                            scale.start,
                            now,
                            ds.gateway_id(i),
                        )
                    )
        cur.execute(
            "INSERT INTO device_assignments (device_id, user_slot, citizen_id, valid, created_by) "
            "SELECT d.id, 1, c.id, tstzrange(%s, NULL), 'bench' FROM devices d "
            "JOIN citizens c ON c.family_name = 'Nr ' || ltrim(substr(d.last_gateway_id, 9), '0') "
            "WHERE d.kind IS NOT NULL AND d.address NOT LIKE 'A4:C1:3A:%%' ORDER BY d.id",
            (scale.start,),
        )


def _homes(conn: psycopg.Connection[Any]) -> dict[int, Home]:
    rows = conn.execute(
        """
        SELECT substr(c.family_name, 4)::int AS i, c.id,
               max(d.id) FILTER (WHERE d.kind = 'blood_pressure' AND a.id IS NOT NULL),
               max(a.id) FILTER (WHERE d.kind = 'blood_pressure'),
               max(d.id) FILTER (WHERE d.kind = 'weight'), max(a.id) FILTER (WHERE d.kind = 'weight'),
               max(d.id) FILTER (WHERE d.address LIKE 'A4:C1:3A:%%')
        FROM citizens c
        JOIN devices d ON d.last_gateway_id = 'gw-home-' || lpad(substr(c.family_name, 4), 5, '0')
        LEFT JOIN device_assignments a ON a.device_id = d.id
        WHERE c.family_name LIKE 'Nr %%'
        GROUP BY 1, 2
        """
    ).fetchall()
    return {i: Home(cid, bp, bpa, sd, sa, ud) for i, cid, bp, bpa, sd, sa, ud in rows}


def _reading_values(row: ds.Row, home: Home, index: int, *, citizen: bool, seq: int) -> tuple[Any, ...]:
    device, assignment = (
        (home.scale_device, home.scale_assignment)
        if row.kind == "weight"
        else (home.bp_device, home.bp_assignment)
    )
    if not citizen:
        device, assignment = home.unassigned_device, None
    return (
        row.measured_at,
        row.reading_id,
        row.kind,
        device,
        1,
        home.citizen_id if citizen else None,
        assignment,
        ds.gateway_id(index),
        seq,
        row.device_time,
        row.measured_at + timedelta(seconds=4),
        row.time_source,
        row.measured_at + timedelta(seconds=5),
        row.unit,
        row.systolic,
        row.diastolic,
        row.mean_arterial_pressure,
        row.pulse_rate,
        row.value,
        row.values_json,
        row.status_json,
        row.implausible,
        row.implausible_reasons,
        row.raw_uuid,
        row.raw,
    )


def _write_chunk(
    conn: psycopg.Connection[Any], scale: ds.Scale, homes: dict[int, Home], indexes: Iterable[int]
) -> int:
    readings: list[tuple[Any, ...]] = []
    stored: list[StoredRow] = []
    alert_rows: list[tuple[Any, ...]] = []
    for i in indexes:
        home = homes[i]
        rows = list(ds.bp_readings(i, scale))
        if ds.has_weight(i):
            rows += list(ds.weight_readings(i, scale))
        for seq, row in enumerate(rows):
            readings.append(_reading_values(row, home, i, citizen=True, seq=seq))
            stored.append(
                StoredRow(  # by name: the write path's row may grow (quarantine_reason did)
                    reading_id=row.reading_id,
                    citizen_id=home.citizen_id,
                    kind=row.kind,
                    measured_at=row.measured_at,
                    gateway_time=row.measured_at,  # the summaries do not read it
                    implausible=row.implausible,
                    clock_in_future=False,
                    systolic=row.systolic,
                    diastolic=row.diastolic,
                    pulse_rate=row.pulse_rate,
                    value=row.value,
                    quarantine_reason=None,
                )
            )
        if ds.has_unassigned(i):
            readings += [
                _reading_values(r, home, i, citizen=False, seq=n)
                for n, r in enumerate(ds.unassigned_rows(i, scale))
            ]
        for a in ds.alerts(rows, scale):
            acknowledged = a.opened_at + timedelta(hours=1) if a.state != "open" else None
            alert_rows.append(
                (
                    home.citizen_id,
                    a.metric,
                    a.level,
                    a.state,
                    a.reading_id,
                    a.measured_at,
                    a.value,
                    a.message,
                    a.opened_at,
                    acknowledged,
                    "bench.nurse" if acknowledged else None,
                    a.resolved_at,
                    "bench.nurse" if a.resolved_at else None,
                )
            )
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(f"COPY readings ({', '.join(READING_COLUMNS)}) FROM STDIN") as copy:
            for values in readings:
                copy.write_row(values)
        with cur.copy("COPY reading_ids (reading_id, measured_at) FROM STDIN") as copy:
            for values in readings:
                copy.write_row((values[1], values[0]))
        with cur.copy(f"COPY alerts ({', '.join(ALERT_COLUMNS)}) FROM STDIN") as copy:
            for values in alert_rows:
                copy.write_row(values)
        summaries.record(conn, stored)
    return len(readings)


def seed(
    dsn: str,
    citizens: int,
    days: int,
    *,
    chunk: int = 100,
    progress: Callable[[int, int], None] | None = None,
    say: Callable[[str], None] = lambda _msg: None,
) -> SeedReport:
    """Seed (or resume seeding) the data set; ``progress(done, total)`` after each chunk."""
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        summaries.take_over(conn)  # COPY fires no summary trigger: record() below counts, as in ingest
        with conn.transaction():
            scale = _run_row(conn, citizens, days, chunk)
            fresh = conn.execute("SELECT count(*) FROM citizens WHERE family_name LIKE 'Nr %%'").fetchone()
            if fresh is not None and fresh[0] == 0:
                say(f"creating {citizens} homes (citizens, gateways, devices, assignments)")
                _create_homes(conn, scale)
        homes = _homes(conn)
        chunks = [range(s, min(s + chunk, citizens + 1)) for s in range(1, citizens + 1, chunk)]
        done = {row[0] for row in conn.execute("SELECT chunk FROM bench_scale_chunks").fetchall()}
        if done:
            say(f"resuming: {len(done)} of {len(chunks)} chunks already seeded")
        total = 0
        written = 0
        for number, indexes in enumerate(chunks):
            if number in done:
                continue
            t0 = time.perf_counter()
            n = _write_chunk(conn, scale, homes, indexes)
            conn.execute(
                "INSERT INTO bench_scale_chunks (chunk, readings, seconds) VALUES (%s, %s, %s)",
                (number, n, time.perf_counter() - t0),
            )
            total += n
            written += 1
            if progress is not None:
                progress(len(done) + written, len(chunks))
        if written:
            say("ANALYZE")
            conn.execute("ANALYZE")
        count = conn.execute("SELECT count(*) FROM readings").fetchone()
        sample = [homes[i].citizen_id for i in sorted(homes)[:: max(1, len(homes) // 25)]]
        problems = summary_differences(conn, sample)
    seconds = time.perf_counter() - started
    return SeedReport(
        scale, int(count[0]) if count else 0, written, seconds, total / seconds if seconds else 0.0, problems
    )
