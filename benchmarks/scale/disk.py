"""What the readings cost on disk: the hypertable, its indexes, the ledger, the summaries."""

from __future__ import annotations

from typing import Any

import psycopg

_SIZES = """
SELECT (SELECT count(*) FROM readings) AS readings,
       d.table_bytes, d.index_bytes, d.toast_bytes, d.total_bytes,
       pg_total_relation_size('reading_ids') AS ledger_bytes,
       pg_total_relation_size('daily_summaries') + pg_total_relation_size('latest_readings') AS summary_bytes,
       (SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings') AS chunks
FROM hypertable_detailed_size('readings') d
"""
_INDEXES = """
SELECT i.indexname, hypertable_index_size(format('%I.%I', i.schemaname, i.indexname)::regclass)
FROM pg_indexes i WHERE i.tablename = 'readings' AND i.schemaname = 'public' ORDER BY 2 DESC
"""


def sizes(conn: psycopg.Connection[Any]) -> tuple[list[tuple[str, int, float]], int]:
    """(what, bytes, bytes per million readings) rows, and the reading count."""
    row = conn.execute(_SIZES).fetchone()
    if row is None:  # pragma: no cover - the query always returns one row
        return [], 0
    readings, table, index, toast, total, ledger, summary, _chunks = row
    per_million = 1_000_000 / readings if readings else 0.0
    items: list[tuple[str, int, float]] = [
        ("readings: heap", int(table), table * per_million),
        ("readings: TOAST", int(toast), toast * per_million),
        ("readings: all indexes", int(index), index * per_million),
    ]
    items += [(f"  index {name}", int(size), size * per_million) for name, size in conn.execute(_INDEXES)]
    items += [
        ("readings: total (hypertable_size)", int(total), total * per_million),
        ("reading_ids ledger (with its index)", int(ledger), ledger * per_million),
        ("daily_summaries + latest_readings", int(summary), summary * per_million),
        ("all of the above", int(total + ledger + summary), (total + ledger + summary) * per_million),
    ]
    return items, int(readings)
