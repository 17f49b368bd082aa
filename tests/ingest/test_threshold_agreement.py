"""Ingest's threshold classification and SQL's ``grafana.threshold_level`` give the same answer.

Ingest opens alerts in Python (ingest/alerts/thresholds.py); the dashboards colour readings
in SQL (migration 0004). A nurse must never see a red reading without an alert, or an alert
on a green one, so both are asked about the same values against a real TimescaleDB: exactly
at each limit, 0.1 either side, and without thresholds or without a value. Thresholds are
read back from the database as ingest reads them (``real``, which psycopg gives as its
shortest decimal); values are asked both as ``double precision`` (weight, glucose,
temperature, SpO2 in ``readings.value``) and as ``real`` (the blood-pressure columns).
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from homevitals.contract.kinds import KINDS, METRICS
from ingest.alerts import StoredReading, ThresholdLevel, Thresholds, alert_candidates, threshold_level

pytestmark = pytest.mark.integration

# Limits that are no binary fractions, stored as real like any citizen's own thresholds.
ODD_LIMITS = "SELECT 'odd', 0.1::real, 0.2::real, 0.3::real, 0.7::real"

# The value's column type decides how SQL sees it: a real value is promoted like the limits.
_SQL_LEVELS = """
SELECT grafana.threshold_level(CASE WHEN is_real THEN v::real ELSE v END, al, wl, wh, ah)
FROM unnest(%s::float8[], %s::boolean[], %s::real[], %s::real[], %s::real[], %s::real[])
     WITH ORDINALITY AS x(v, is_real, al, wl, wh, ah, n)
ORDER BY n
"""


def _boundary_values(limits: Thresholds) -> list[float]:
    values = []
    for limit in (limits.alert_low, limits.warn_low, limits.warn_high, limits.alert_high):
        # The stored limit itself, the decimal a person typed (37.8 is not 37.799999237...),
        # and 0.1 either side.
        values += [limit, round(limit, 4), limit - 0.1, limit + 0.1]
    return values


def _column_of(metric: str) -> tuple[str, str]:
    """A kind that is checked on ``metric``, and the stored column it is read from."""
    for info in KINDS.values():
        if any(m.name == metric for m in info.alert_metrics):
            return str(info.kind), info.stored_column(metric)
    raise AssertionError(f"no kind has metric {metric}")


def test_python_and_sql_classify_every_boundary_alike(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        rows = conn.execute(
            "SELECT metric, alert_low, warn_low, warn_high, alert_high FROM default_thresholds "
            f"UNION ALL {ODD_LIMITS} ORDER BY 1"
        ).fetchall()
        assert len(rows) == len(METRICS) + 1
        cases: list[tuple[str, float | None, bool, Thresholds | None]] = []
        for metric, *limits in rows:
            thresholds = Thresholds(*limits)
            for value_is_real in (False, True):
                cases += [(metric, v, value_is_real, thresholds) for v in _boundary_values(thresholds)]
                cases.append((metric, None, value_is_real, thresholds))  # no value
                cases.append((metric, thresholds.warn_high, value_is_real, None))  # no thresholds
        columns = list(zip(*[
            (value, is_real, *((t.alert_low, t.warn_low, t.warn_high, t.alert_high) if t else (None,) * 4))
            for _, value, is_real, t in cases
        ], strict=True))
        sql_levels = [row[0] for row in conn.execute(_SQL_LEVELS, [list(c) for c in columns]).fetchall()]

    python_levels = [threshold_level(v, t, value_is_real=is_real) for _, v, is_real, t in cases]
    disagreements = [
        (metric, value, is_real, t, python, sql)
        for (metric, value, is_real, t), python, sql in zip(cases, python_levels, sql_levels, strict=True)
        if (None if python is None else str(python)) != sql
    ]
    assert not disagreements
    # The boundaries really were crossed: every level occurs, and "no answer" too.
    assert set(sql_levels) == {"normal", "warning", "alert", None}
    # A limit that is no binary fraction: 0.1 as typed is below the stored 0.10000000149.
    odd = Thresholds(0.1, 0.2, 0.3, 0.7)
    assert threshold_level(0.1, odd, value_is_real=False) is ThresholdLevel.ALERT
    assert threshold_level(0.1, odd, value_is_real=True) is ThresholdLevel.WARNING


def test_the_threshold_rule_alerts_exactly_where_sql_is_not_normal(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        # Limits that are no binary fractions, on a double column (temperature, in
        # readings.value) and on a real one (pulse_rate); this database is the test's own.
        conn.execute(
            "UPDATE default_thresholds SET alert_low = 0.1, warn_low = 0.2, warn_high = 0.3, alert_high = 0.7 "
            "WHERE metric IN ('temperature', 'pulse_rate')"
        )
        rows = conn.execute(
            "SELECT metric, alert_low, warn_low, warn_high, alert_high FROM default_thresholds ORDER BY 1"
        ).fetchall()
        for metric, *limits in rows:
            thresholds = Thresholds(*limits)
            kind, column = _column_of(metric)
            sql_type = "real" if column != "value" else "float8"
            for value in _boundary_values(thresholds):
                sql_level = conn.execute(
                    f"SELECT grafana.threshold_level(%s::float8::{sql_type}, alert_low, warn_low, warn_high, "
                    "alert_high) FROM default_thresholds WHERE metric = %s",
                    (value, metric),
                ).fetchone()
                assert sql_level is not None
                reading = StoredReading(
                    reading_id="r", citizen_id=1, kind=kind, measured_at=datetime(2026, 11, 29, tzinfo=UTC),
                    columns={"systolic": None, "diastolic": None, "pulse_rate": None, "value": None,
                             column: value},
                )
                candidates = [c for c in alert_candidates([reading], {(1, metric): thresholds})
                              if c.metric == metric]
                expected = [] if sql_level[0] == ThresholdLevel.NORMAL else [sql_level[0]]
                assert [str(c.level) for c in candidates] == expected, (metric, value)


def test_the_registrys_metrics_are_the_thresholds_table(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        stored = dict(conn.execute("SELECT metric, unit FROM default_thresholds").fetchall())
    assert stored == {metric.name: metric.unit for metric in METRICS}
