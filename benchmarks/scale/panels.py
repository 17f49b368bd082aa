"""Time every panel query of every dashboard, as Grafana sends it, as Grafana's role.

The SQL is taken from the generated dashboards (dashboards/generated/, what ``dashboards
sync`` uploads), expanded by :func:`benchmarks.grafana_sql.render` exactly as Grafana
would expand it for the dashboard's default time range, and run on a login role that is a
member of ``homevitals_grafana``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import psycopg
from psycopg import sql

from benchmarks.grafana_sql import TimeRange, Variable, render
from benchmarks.scale.timing import Timing
from dashboards.build import load_generated
from database.summaries import reference_care_overview_sql

GRAFANA_LOGIN: Final = "bench_grafana_reader"
RAW_VIEW: Final = "bench.care_overview_raw"
_RELATIVE = re.compile(r"^now-(\d+)([mhdw])$")
_UNITS: Final = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    sql: str  # as rendered for PostgreSQL


@dataclass(frozen=True)
class Scenario:
    """One dashboard opened with given variables (for example the care overview, one team)."""

    label: str
    dashboard: str
    variables: dict[str, Variable]


def grafana_dsn(admin_dsn: str, conn: psycopg.Connection[Any]) -> str:
    """A login member of homevitals_grafana (created if missing) and its DSN."""
    conn.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{GRAFANA_LOGIN}') "
        f"THEN CREATE ROLE {GRAFANA_LOGIN} LOGIN IN ROLE homevitals_grafana; END IF; END $$"
    )
    return re.sub(r"//[^@/]+@", f"//{GRAFANA_LOGIN}@", admin_dsn) if "@" in admin_dsn else admin_dsn


def create_raw_view(conn: psycopg.Connection[Any]) -> None:
    """Migration 0004's care overview (five lateral subqueries over raw rows), for comparison."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
    conn.execute(reference_care_overview_sql(RAW_VIEW))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA bench TO {}").format(sql.Identifier(GRAFANA_LOGIN)))
    conn.execute(
        sql.SQL("GRANT SELECT ON {} TO {}").format(
            sql.Identifier("bench", "care_overview_raw"), sql.Identifier(GRAFANA_LOGIN)
        )
    )


def time_range_of(dashboard: dict[str, Any], now: datetime) -> TimeRange:
    match = _RELATIVE.match(dashboard["time"]["from"])
    span = int(match.group(1)) * _UNITS[match.group(2)] if match else timedelta(hours=6)
    return TimeRange(now - span, now)


def panel_queries(dashboard_name: str, variables: dict[str, Variable], now: datetime) -> Iterator[PanelQuery]:
    dashboard = load_generated("en")[dashboard_name]
    time_range = time_range_of(dashboard, now)
    # Grafana's $__interval: the range over the panel's data points (about 1,000 here).
    interval = max(timedelta(seconds=1), (time_range.end - time_range.start) / 1000)
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield PanelQuery(
                dashboard_name,
                panel.get("title", "?"),
                render(target["rawSql"], variables=variables, time_range=time_range, interval=interval),
            )


def run_timed(conn: psycopg.Connection[Any], query: str) -> tuple[float, int]:
    started = time.perf_counter()
    rows = conn.execute(query).fetchall()
    return (time.perf_counter() - started) * 1000, len(rows)


def time_scenario(
    conn: psycopg.Connection[Any],
    scenario: Scenario,
    *,
    repeat: int,
    now: datetime,
    rewrite: Callable[[str], str] = lambda q: q,
    label_suffix: str = "",
    warm_up: bool = True,
    timeout_s: float | None = None,
) -> list[tuple[PanelQuery, Timing]]:
    """Each panel ``repeat`` times, after one warm-up run that fills the caches. A run cut
    off by ``timeout_s`` counts as that long and is noted (the raw view can take minutes)."""
    results = []
    if timeout_s is not None:
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{int(timeout_s * 1000)}ms")))
    try:
        for query in panel_queries(scenario.dashboard, scenario.variables, now):
            text = rewrite(query.sql)
            timing = Timing(f"{scenario.label}{label_suffix}: {query.panel}")
            for run in range(repeat + (1 if warm_up else 0)):
                try:
                    elapsed, timing.rows = run_timed(conn, text)
                except psycopg.errors.QueryCanceled:
                    elapsed = (timeout_s or 0) * 1000
                    timing.note = f"cancelled after {timeout_s:g} s"
                if run or not warm_up:
                    timing.samples_ms.append(elapsed)
                if timing.note:
                    timing.samples_ms += [elapsed] * (repeat - len(timing.samples_ms))
                    break  # one cut-off run says enough
            results.append((PanelQuery(query.dashboard, query.panel, text), timing))
    finally:
        if timeout_s is not None:
            conn.execute("SET statement_timeout = '300s'")
    return results


def dashboard_totals(samples: list[tuple[PanelQuery, Timing]], repeat: int) -> Timing:
    """The whole dashboard per refresh: run r of every panel summed (Grafana runs them all)."""
    total = Timing("total")
    for run in range(repeat):
        total.samples_ms.append(sum(t.samples_ms[run] for _, t in samples if len(t.samples_ms) > run))
    return total


def explain(conn: psycopg.Connection[Any], query: str) -> str:
    rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}").fetchall()
    return "\n".join(r[0] for r in rows)


def scenarios(conn: psycopg.Connection[Any]) -> tuple[list[Scenario], datetime]:
    teams = tuple(r[0] for r in conn.execute("SELECT DISTINCT care_team FROM grafana.citizens ORDER BY 1"))
    row = conn.execute(
        "SELECT citizen_id FROM grafana.care_overview WHERE care_team = %s AND mean7_readings > 0 "
        "ORDER BY citizen_id LIMIT 1",
        (teams[0],),
    ).fetchone()
    citizen = str(row[0]) if row else "1"
    one = Variable((teams[0],), multi=True, include_all=True, options=teams)
    every = Variable(("$__all",), multi=True, include_all=True, options=teams)
    return [
        Scenario(f"care overview, one team ({teams[0]})", "care-overview", {"team": one}),
        Scenario(f"care overview, all {len(teams)} teams", "care-overview", {"team": every}),
        Scenario(
            f"citizen detail (citizen {citizen})",
            "citizen-detail",
            {"team": one, "citizen": Variable(citizen)},
        ),
        Scenario("fleet", "fleet", {}),
        Scenario("ingest operations", "ingest-operations", {}),
    ], datetime.now(UTC)


def to_raw_view(query: str) -> str:
    return query.replace("grafana.care_overview", RAW_VIEW)
