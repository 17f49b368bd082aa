"""The summary tables from outside the write path: the reference view and the exactness check.

Migration 0007 keeps ``latest_readings`` and ``daily_summaries`` exact (ingest per batch, a
row trigger for every other writer, retention after drop_chunks). This module holds what
tests, the scale benchmark and an operator use to see that they are: the care overview as
0004 computed it from raw readings, and a recomputation of the summaries from raw rows to
compare with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

_MIGRATION_0004: Final = Path(__file__).parent / "migrations" / "sql" / "0004_dashboards.up.sql"

# Recomputed from raw rows, independently of the migration's functions. Sums are compared
# with a tolerance by :func:`summary_differences` (incremental float sums may round
# differently in the last bit); counts, minima and maxima exactly.
EXPECTED_DAILY: Final = """
SELECT r.citizen_id, r.kind, (r.measured_at AT TIME ZONE c.timezone)::date AS local_date,
       count(*) AS readings, count(*) FILTER (WHERE v.ok) AS valid,
       count(*) FILTER (WHERE v.ok AND bp_session(r.measured_at, c.timezone) = 'morning') AS morning,
       count(*) FILTER (WHERE v.ok AND bp_session(r.measured_at, c.timezone) = 'evening') AS evening,
       count(r.systolic) FILTER (WHERE v.ok) AS systolic_n, sum(r.systolic::float8) FILTER (WHERE v.ok),
       min(r.systolic) FILTER (WHERE v.ok), max(r.systolic) FILTER (WHERE v.ok),
       count(r.diastolic) FILTER (WHERE v.ok), sum(r.diastolic::float8) FILTER (WHERE v.ok),
       min(r.diastolic) FILTER (WHERE v.ok), max(r.diastolic) FILTER (WHERE v.ok),
       count(r.pulse_rate) FILTER (WHERE v.ok), sum(r.pulse_rate::float8) FILTER (WHERE v.ok),
       min(r.pulse_rate) FILTER (WHERE v.ok), max(r.pulse_rate) FILTER (WHERE v.ok),
       count(r.value) FILTER (WHERE v.ok), sum(r.value) FILTER (WHERE v.ok),
       min(r.value) FILTER (WHERE v.ok), max(r.value) FILTER (WHERE v.ok)
FROM readings r
JOIN citizens c ON c.id = r.citizen_id
CROSS JOIN LATERAL (SELECT NOT (r.implausible OR r.clock_in_future) AS ok) v
WHERE r.citizen_id = ANY(%(citizens)s)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""
ACTUAL_DAILY: Final = """
SELECT citizen_id, kind, local_date, readings, valid, morning, evening,
       systolic_n, systolic_sum, systolic_min, systolic_max,
       diastolic_n, diastolic_sum, diastolic_min, diastolic_max,
       pulse_rate_n, pulse_rate_sum, pulse_rate_min, pulse_rate_max,
       value_n, value_sum, value_min, value_max
FROM daily_summaries WHERE citizen_id = ANY(%(citizens)s)
ORDER BY 1, 2, 3
"""
EXPECTED_LATEST: Final = """
SELECT k.citizen_id, k.kind, k.last_at, v.measured_at, v.reading_id, v.systolic, v.diastolic,
       v.pulse_rate, v.value
FROM (SELECT citizen_id, kind, max(measured_at) AS last_at FROM readings
      WHERE citizen_id = ANY(%(citizens)s) GROUP BY 1, 2) k
LEFT JOIN LATERAL (
  SELECT r.measured_at, r.reading_id, r.systolic, r.diastolic, r.pulse_rate, r.value
  FROM readings r
  WHERE r.citizen_id = k.citizen_id AND r.kind = k.kind AND NOT r.implausible AND NOT r.clock_in_future
  ORDER BY r.measured_at DESC, r.reading_id DESC LIMIT 1
) v ON true
ORDER BY 1, 2
"""
ACTUAL_LATEST: Final = """
SELECT citizen_id, kind, last_at, valid_at, valid_reading_id, systolic, diastolic, pulse_rate, value
FROM latest_readings WHERE citizen_id = ANY(%(citizens)s)
ORDER BY 1, 2
"""
# Column positions of the sums in EXPECTED_DAILY / ACTUAL_DAILY.
_SUM_COLUMNS: Final = frozenset({8, 12, 16, 20})


def reference_care_overview_sql(name: str) -> sql.Composed:
    """``CREATE VIEW name`` with the care overview exactly as migration 0004 defined it,
    over raw readings: the baseline the summaries must agree with, and be faster than."""
    text = _MIGRATION_0004.read_text(encoding="utf-8")
    match = re.search(r"CREATE VIEW grafana\.care_overview AS\n(.*?);\n", text, flags=re.DOTALL)
    if match is None:  # pragma: no cover - the migration is part of the package
        raise RuntimeError(f"no care overview view in {_MIGRATION_0004}")
    return sql.SQL("CREATE OR REPLACE VIEW {} AS\n").format(sql.Identifier(*name.split("."))) + sql.SQL(
        match.group(1)  # our own migration file, not user input
    )


def _same(expected: tuple[Any, ...], actual: tuple[Any, ...], sums: frozenset[int]) -> bool:
    if len(expected) != len(actual):
        return False
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        if index in sums and want is not None and got is not None:
            if abs(float(want) - float(got)) > 1e-9 * max(1.0, abs(float(want))):
                return False
        elif want != got:
            return False
    return True


def summary_differences(conn: psycopg.Connection[Any], citizens: list[int]) -> list[str]:
    """Every way the summary tables of these citizens differ from a recomputation."""
    problems: list[str] = []
    params = {"citizens": citizens}
    for what, expected_sql, actual_sql, sums, key_len in (
        ("daily_summaries", EXPECTED_DAILY, ACTUAL_DAILY, _SUM_COLUMNS, 3),
        ("latest_readings", EXPECTED_LATEST, ACTUAL_LATEST, frozenset[int](), 2),
    ):
        expected = {tuple(r[:key_len]): tuple(r) for r in conn.execute(expected_sql, params).fetchall()}
        actual = {tuple(r[:key_len]): tuple(r) for r in conn.execute(actual_sql, params).fetchall()}
        for key in sorted(expected.keys() | actual.keys(), key=str):
            want, got = expected.get(key), actual.get(key)
            if want is None or got is None or not _same(want, got, sums):
                problems.append(f"{what} {key}: expected {want}, table has {got}")
    return problems
