"""``homevitals bench scale`` end to end at tiny scale: exact seeded counts, resume, every section.

Timings are printed, never asserted; what is asserted is what the seed must have stored
(dataset.expected_counts regenerates the same deterministic rows) and that an interrupted
seed resumes to exactly the same database.
"""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from benchmarks.scale import dataset as ds
from benchmarks.scale.cli import app
from benchmarks.scale.seed import SeedMismatch, seed

pytestmark = pytest.mark.integration

CITIZENS, DAYS, CHUNK = 50, 7, 20
SEEDED = "batch_seq < 10000000"  # the ingest section's own readings come after


class Interrupted(Exception):
    pass


def _stop_after_first_chunk(done: int, _total: int) -> None:
    if done == 1:
        raise Interrupted


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    row = conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE citizen_id IS NULL), count(*) FILTER (WHERE implausible) "
        f"FROM readings WHERE {SEEDED}"
    ).fetchone()
    citizens = conn.execute("SELECT count(*) FROM citizens").fetchone()
    seeded_alerts = conn.execute(
        f"SELECT count(*) FROM alerts a WHERE EXISTS "
        f"(SELECT FROM readings r WHERE r.reading_id = a.reading_id AND r.{SEEDED})"
    ).fetchone()
    assert row and citizens and seeded_alerts
    return {
        "citizens": citizens[0],
        "readings": row[0],
        "unassigned": row[1],
        "implausible": row[2],
        "alerts": seeded_alerts[0],
    }


def test_the_scale_bench_seeds_exact_counts_resumes_and_prints_every_section(db_dsn):
    # An interrupted seed keeps its finished chunks, and only those.
    with pytest.raises(Interrupted):
        seed(db_dsn, CITIZENS, DAYS, chunk=CHUNK, progress=_stop_after_first_chunk)
    with psycopg.connect(db_dsn) as conn:
        ((chunks, chunk_readings),) = conn.execute(
            "SELECT count(*), sum(readings)::int FROM bench_scale_chunks"
        ).fetchall()
        assert chunks == 1
        assert conn.execute(f"SELECT count(*) FROM readings WHERE {SEEDED}").fetchone() == (chunk_readings,)
        end = conn.execute("SELECT end_at FROM bench_scale_run").fetchone()
    assert end is not None
    expected = ds.expected_counts(ds.Scale(CITIZENS, DAYS, end[0]))

    # Other sizes on the same database are refused rather than mixed in.
    with pytest.raises(SeedMismatch, match="50 citizens x 7 days"):
        seed(db_dsn, CITIZENS + 1, DAYS, chunk=CHUNK)

    result = CliRunner().invoke(
        app,
        [
            "--dsn",
            db_dsn,
            "--citizens",
            str(CITIZENS),
            "--days",
            str(DAYS),
            "--chunk",
            str(CHUNK),
            "--repeat",
            "1",
            "--old-repeat",
            "1",
            "--api-seconds",
            "0.3",
            "--clients",
            "1,2",
            "--ingest-readings",
            "100",
            "--explain",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "resuming: 1 of 3 chunks already seeded" in out
    assert "equal a recomputation from raw rows: yes" in out
    for section in (
        "#### Disk",
        "care overview, one team (team-00)",
        "care overview, all 20 teams",
        "raw readings (0004 view)",
        "#### citizen detail",
        "#### fleet",
        "#### ingest operations",
        "EXPLAIN (ANALYZE, BUFFERS)",
        "#### API over HTTP",
        "FHIR Observation search",
        "unassigned queue",
        "#### Ingest write path",
        "row trigger",
    ):
        assert section in out, section
    assert "ERROR" not in out

    with psycopg.connect(db_dsn) as conn:
        assert _counts(conn) == {
            k: expected[k] for k in ("citizens", "readings", "unassigned", "implausible", "alerts")
        }
        # The ingest section stored every reading it sent (2 runs of 100), none twice.
        assert conn.execute(
            f"SELECT count(*), count(DISTINCT reading_id) FROM readings WHERE NOT ({SEEDED})"
        ).fetchone() == (200, 200)
        assert conn.execute("SELECT count(*) FROM bench_scale_chunks").fetchone() == (3,)
    assert expected["unassigned"] > 0 and expected["implausible"] >= 0 and expected["alerts"] > 0
