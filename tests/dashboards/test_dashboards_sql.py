"""Every panel's SQL and every variable query, expanded as Grafana expands them, run on the
real TimescaleDB as a login member of homevitals_grafana, against a seeded, fully known world.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import psycopg
import pytest
from dashboards_seed import IDENTIFIERS

from benchmarks.grafana_sql import TimeRange, Variable
from dashboards import care_overview as care
from dashboards import citizen_detail as detail
from dashboards import fleet
from dashboards import ingest_operations as ingest
from dashboards.build import load_generated
from dashboards.common import CITIZEN_QUERY, TEAM_QUERY

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "database" / "migrations" / "sql"


class Expect(NamedTuple):
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def assert_rows(actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} rows, expected {len(expected)}:\n{actual}"
    for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert len(got) == len(want), f"{what} row {index}"
        for column, (a, b) in enumerate(zip(got, want, strict=True)):
            if isinstance(b, float) and a is not None:
                assert float(a) == pytest.approx(b, abs=1e-6), f"{what} row {index} column {column}"
            else:
                assert a == b, f"{what} row {index} column {column}: {a!r} != {b!r}"


def days_since(now: datetime, then: datetime, tz: str) -> int:
    zone = ZoneInfo(tz)
    return (now.astimezone(zone).date() - then.astimezone(zone).date()).days


def minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def percentile_cont(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# -- the expected answer to every query, for the seeded world ------------------------------
def care_expectations(w: Any) -> dict[str, Expect]:
    s, ids, t = w.seeded, w.seeded.citizens, w.seeded.times
    now = datetime.now(UTC)
    citizens = [
        (ids["karen"], "Karen H.", "team-nord", t["k4"], 165.0, 92.0, 72.0, "alert", 143.8, 88.3, 4, "warning",
         1, days_since(now, t["k5"], "Europe/Copenhagen"), 15, "online"),
        (ids["jens"], "Jens J.", "team-nord", t["j2"], 120.0, 78.0, 58.0, "warning", 120.0, 78.0, 1, "warning",
         1, days_since(now, t["j2"], "Europe/Copenhagen"), 80, "offline"),
        (ids["anna"], "Anna B.", "team-syd", t["a2"], 122.0, 79.0, 62.0, "normal", 120.0, 77.5, 2, "normal",
         0, days_since(now, t["a2"], "Atlantic/Reykjavik"), None, "online"),
        (ids["mette"], "Mette M.", "team-syd", None, None, None, None, None, None, None, 0, None, 0, None, None,
         None),
    ]
    assert s.teams == ("team-nord", "team-syd")
    return {
        care.RED_COUNT: Expect(("citizens",), [(1,)]),
        care.YELLOW_COUNT: Expect(("citizens",), [(1,)]),
        care.STALE_COUNT: Expect(("citizens",), [(3,)]),  # Jens 4 days, Anna 3 days, Mette never
        care.OPEN_ALERTS_COUNT: Expect(("alerts",), [(2,)]),
        care.OFFLINE_COUNT: Expect(("citizens",), [(1,)]),
        care.LOW_BATTERY_COUNT: Expect(("citizens",), [(1,)]),
        care.CITIZENS: Expect(
            ("citizen_id", "label", "care_team", "last_measured_at", "last_systolic", "last_diastolic",
             "last_pulse", "last_level", "mean7_systolic", "mean7_diastolic", "mean7_readings", "mean7_level",
             "open_alerts", "days_since_last", "battery_min", "gateway_state"),
            citizens,
        ),
        care.OPEN_ALERTS: Expect(
            ("alert_id", "opened_at", "citizen_id", "label", "care_team", "level", "state", "alert_type", "metric",
             "value", "measured_at"),
            [
                (s.alerts["k_sys"], t["alert_k_sys"], ids["karen"], "Karen H.", "team-nord", "alert", "open", "threshold",
                 "systolic", 165.0, None),
                (s.alerts["j_missing"], t["alert_j_missing"], ids["jens"], "Jens J.", "team-nord", "warning", "open",
                 "missing_measurements", "blood_pressure", None, None),
                (s.alerts["k_dia"], t["alert_k_dia"], ids["karen"], "Karen H.", "team-nord", "warning", "acknowledged", "threshold",
                 "diastolic", 95.0, None),
            ],
        ),
    }


def detail_expectations(w: Any, time_range: TimeRange) -> dict[str, Expect]:
    s, t, dev = w.seeded, w.seeded.times, w.seeded.devices
    now = datetime.now(UTC)
    edges = [time_range.start, time_range.end]
    return {
        detail.LAST: Expect(("last_systolic", "last_diastolic", "last_pulse"), [(165.0, 92.0, 72.0)]),
        detail.LEVEL: Expect(("last_level",), [("alert",)]),
        detail.MEAN7: Expect(("mean7_systolic", "mean7_diastolic", "mean7_readings"), [(143.8, 88.3, 4)]),
        detail.DAYS: Expect(("days_since_last",), [(days_since(now, t["k5"], "Europe/Copenhagen"),)]),
        detail.ALERTS: Expect(("open_alerts",), [(1,)]),
        detail.BP: Expect(
            ("time", "systolic", "diastolic"),
            [(t["k1"], 128.0, 82.0), (t["k2"], 132.0, 84.0), (t["k3"], 150.0, 95.0), (t["k4"], 165.0, 92.0)],
        ),
        detail.BP_LIMITS: Expect(
            ("time", "sys_alert_low", "sys_warn_low", "sys_warn_high", "sys_alert_high", "dia_alert_low",
             "dia_warn_low", "dia_warn_high", "dia_alert_high"),
            [(edge, 90.0, 100.0, 135.0, 160.0, 50.0, 60.0, 85.0, 100.0) for edge in edges],
        ),
        detail.PULSE: Expect(
            ("time", "pulse_rate"), [(t["k1"], 64.0), (t["k2"], 66.0), (t["k3"], 70.0), (t["k4"], 72.0)]
        ),
        detail.PULSE_LIMITS: Expect(
            ("time", "pulse_alert_low", "pulse_warn_low", "pulse_warn_high", "pulse_alert_high"),
            [(edge, 40.0, 50.0, 100.0, 120.0) for edge in edges],
        ),
        # morning: 08:00 128/82/64 and 07:30 150/95/70; evening: 20:00 132/84/66 and 21:00 165/92/72
        detail.SESSIONS: Expect(
            ("session", "systolic", "diastolic", "pulse_rate", "readings", "level"),
            [("morning", 139.0, 88.5, 67.0, 2, "warning"), ("evening", 148.5, 88.0, 69.0, 2, "warning")],
        ),
        detail.DAILY: Expect(
            ("time", "morning_systolic", "morning_diastolic", "evening_systolic", "evening_diastolic"),
            [
                (t["k1"], 128.0, 82.0, None, None),
                (t["k2"], None, None, 132.0, 84.0),
                (t["k3"], 150.0, 95.0, None, None),
                (t["k4"], None, None, 165.0, 92.0),
            ],
        ),
        detail.READINGS: Expect(
            ("time", "systolic", "diastolic", "pulse_rate", "level", "body_movement", "irregular_pulse",
             "cuff_fit_loose", "improper_position", "implausible", "clock_in_future", "time_source", "gateway_id"),
            [
                (t["k5"], 400.0, 20.0, 300.0, None, False, False, False, False, True, False, "device_corrected",
                 "gw-0001"),
                (t["k4"], 165.0, 92.0, 72.0, "alert", False, False, False, False, False, False,
                 "device_corrected", "gw-0001"),
                (t["k3"], 150.0, 95.0, 70.0, "warning", True, True, False, False, False, False,
                 "device_corrected", "gw-0001"),
                (t["k2"], 132.0, 84.0, 66.0, "normal", False, False, False, False, False, False, "gateway",
                 "gw-0001"),
                (t["k1"], 128.0, 82.0, 64.0, "normal", False, False, False, False, False, False,
                 "device_corrected", "gw-0001"),
            ],
        ),
        detail.BATTERY: Expect(("device", "battery_level"), [(f"UA-651BLE #{dev['a']}", 15)]),
        detail.DEVICES: Expect(
            ("device", "battery_level", "battery_at", "device_last_seen", "gateway_id", "gateway_state",
             "gateway_last_seen", "outbox_depth"),
            [(f"UA-651BLE #{dev['a']}", 15, s.now - timedelta(hours=1), s.now - timedelta(minutes=30), "gw-0001",
              "online", t["gw-0001"], 0)],
        ),
    }


def fleet_expectations(w: Any) -> dict[str, Expect]:
    s, t, dev = w.seeded, w.seeded.times, w.seeded.devices
    return {
        fleet.ONLINE: Expect(("gateways",), [(1,)]),
        fleet.OFFLINE: Expect(("gateways",), [(1,)]),
        fleet.UNKNOWN: Expect(("gateways",), [(1,)]),
        fleet.OUTBOX: Expect(("batches",), [(12,)]),
        fleet.LOW_BATTERY: Expect(("devices",), [(2,)]),  # A at 15 %, E at 5 %
        # The 40-day-old gap is outside the range; of gw-0002's 3 missing batches one came late.
        fleet.GAPS_TOTAL: Expect(("missing",), [(2,)]),
        fleet.GATEWAYS: Expect(
            ("gateway_id", "state", "last_seen", "outbox_depth", "outbox_full", "devices", "battery_min",
             "version", "last_batch_seq", "missing_batches", "quarantined_readings", "revoked_at"),
            [  # quarantine per gateway: tests/enrollment (a hostile gateway's 30 readings)
                ("gw-0002", "offline", t["gw-0002"], 12, False, 1, 80, "1.3.2", 9, 2, 0, None),
                ("gw-0003", "unknown", s.now - timedelta(minutes=9), None, False, 1, 55, None, 3, 0, 0, None),
                ("gw-0001", "online", t["gw-0001"], 0, False, 3, 5, "1.4.0", 41, 1, 0, None),
            ],
        ),
        fleet.DEVICES_PER_GATEWAY: Expect(("gateway_id", "devices"), [("gw-0001", 3), ("gw-0002", 1), ("gw-0003", 1)]),
        fleet.OUTBOX_PER_GATEWAY: Expect(
            ("gateway_id", "outbox_depth"), [("gw-0002", 12), ("gw-0001", 0), ("gw-0003", 0)]
        ),
        fleet.BATTERY: Expect(
            ("device", "battery_level"),
            [(f"UA-767 #{dev['e']}", 5), (f"UA-651BLE #{dev['a']}", 15), (f"BM54 #{dev['c']}", 55),
             (f"HEM-7600T #{dev['b']}", 80)],
        ),
        fleet.GAPS_SERIES: Expect(
            ("time", "metric", "missing"), [(t["gap"].replace(minute=0, second=0, microsecond=0), "gw-0002", 2)]
        ),
        fleet.GAPS_TABLE: Expect(
            ("detected_at", "gateway_id", "expected_seq", "received_seq", "missing"), [(t["gap"], "gw-0002", 10, 13, 2)]
        ),
    }


def ingest_expectations(w: Any) -> dict[str, Expect]:
    s, t, dev = w.seeded, w.seeded.times, w.seeded.devices
    # In the last 6 hours the hub received k4 (2 h ago, from an outbox), k5 (1 h ago), u1 (9 min ago).
    received = {"k4": s.now - timedelta(hours=2), "k5": s.now - timedelta(hours=1), "u1": s.now - timedelta(minutes=9)}
    gateway_lag = {k: (received[k] - (t[k] + timedelta(seconds=4))).total_seconds() for k in received}
    measured_lag = {k: (received[k] - t[k]).total_seconds() for k in received}
    topic = "homevitals/v1/gateways/{}/readings"
    return {
        ingest.READINGS_TOTAL: Expect(("readings",), [(3,)]),
        ingest.DEAD_TOTAL: Expect(("dead_letters",), [(3,)]),
        ingest.IMPLAUSIBLE_TOTAL: Expect(("readings",), [(1,)]),
        ingest.UNASSIGNED_TOTAL: Expect(("readings",), [(1,)]),
        ingest.LAG_P95: Expect(("seconds",), [(percentile_cont(list(gateway_lag.values()), 0.95),)]),
        ingest.RATE: Expect(("time", "readings_per_minute"), [(minute(received[k]), 1.0) for k in received]),
        ingest.LAG: Expect(
            ("time", "lag_p50", "lag_p95", "hub_lag_p95"),
            [(minute(received[k]), measured_lag[k], measured_lag[k], gateway_lag[k]) for k in received],
        ),
        ingest.DEAD_BY_REASON: Expect(("reason", "dead_letters"), [("invalid_json", 2), ("schema_violation", 1)]),
        ingest.DEAD_LIST: Expect(
            ("received_at", "gateway_id", "reason", "detail", "topic", "payload_bytes"),
            [
                (t["dl3"], "gw-0002", "schema_violation", "bad kind", topic.format("gw-0002"), 2),
                (t["dl2"], "gw-0001", "invalid_json", "not JSON", topic.format("gw-0001"), 1),
                (t["dl1"], "gw-0001", "invalid_json", "not JSON", topic.format("gw-0001"), 2),
            ],
        ),
        ingest.IMPLAUSIBLE_SERIES: Expect(("time", "implausible_count"), [(minute(received["k5"]), 1)]),
        ingest.IMPLAUSIBLE_LIST: Expect(
            ("measured_at", "received_at", "gateway_id", "kind", "reasons", "device_id"),
            [(t["k5"], received["k5"], "gw-0001", "blood_pressure", "systolic_out_of_range", dev["a"])],
        ),
    }


class Case(NamedTuple):
    time_range: Callable[[Any], TimeRange]
    interval: timedelta
    expectations: Callable[[Any, TimeRange], dict[str, Expect]]


CASES = {
    # The dashboards' own default ranges, and the interval Grafana would pick for them.
    "care-overview": Case(lambda w: w.last_days(7), timedelta(minutes=10), lambda w, _: care_expectations(w)),
    "citizen-detail": Case(lambda w: w.last_days(30), timedelta(hours=1), detail_expectations),
    "fleet": Case(lambda w: w.last_days(7), timedelta(hours=1), lambda w, _: fleet_expectations(w)),
    "ingest-operations": Case(
        lambda w: w.last_days(0.25), timedelta(minutes=1), lambda w, _: ingest_expectations(w)
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_panel_query_returns_the_expected_columns_and_rows(world, name):
    case = CASES[name]
    time_range = case.time_range(world)
    expected = {sql.strip(): e for sql, e in case.expectations(world, time_range).items()}
    dashboard = load_generated("da")[name]
    checked = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            what = f"{name} panel {panel['id']} ({panel['title']}) {target['refId']}"
            assert target["rawSql"] in expected, f"{what}: no expectation for this query"
            want = expected[target["rawSql"]]
            columns, rows = world.run(target["rawSql"], time_range, case.interval)
            assert tuple(columns) == want.columns, what
            assert_rows(rows, want.rows, what)
            checked.add(target["rawSql"])
            # A data link may only point at columns the query returns.
            for field in re.findall(r"__data\.fields\.(\w+)", str(panel["fieldConfig"])):
                assert field in columns, f"{what}: link uses {field}, not a column"
    assert checked == set(expected), "expectations without a panel"


def test_variable_queries_list_teams_and_citizens_of_the_selected_teams(world):
    ids, everything = world.seeded.citizens, world.last_days(7)
    columns, rows = world.run(TEAM_QUERY, everything)
    assert (columns, rows) == (["care_team"], [("team-nord",), ("team-syd",)])  # Ole (inactive) adds none
    columns, rows = world.run(CITIZEN_QUERY, everything)
    assert columns == ["__value", "__text"]
    assert rows == [(ids[k], f"{label} ({ids[k]})") for k, label in
                    (("anna", "Anna B."), ("jens", "Jens J."), ("karen", "Karen H."), ("mette", "Mette M."))]
    south = Variable(("team-syd",), multi=True, include_all=True, options=world.seeded.teams)
    assert world.run(CITIZEN_QUERY, everything, team=south)[1] == [
        (ids["anna"], f"Anna B. ({ids['anna']})"), (ids["mette"], f"Mette M. ({ids['mette']})")]
    # A quote in a value is a literal, as Grafana quotes it; never SQL.
    odd = Variable(("nord') OR ('1'='1",), multi=True, include_all=True, options=world.seeded.teams)
    assert world.run(CITIZEN_QUERY, everything, team=odd)[1] == []


def test_care_overview_counts_only_the_selected_team(world):
    south = Variable(("team-syd",), multi=True, include_all=True, options=world.seeded.teams)
    week = world.last_days(7)
    counts = [
        world.run(sql, week, team=south)[1][0][0]
        for sql in (care.RED_COUNT, care.YELLOW_COUNT, care.STALE_COUNT, care.OPEN_ALERTS_COUNT,
                    care.OFFLINE_COUNT, care.LOW_BATTERY_COUNT)
    ]
    assert counts == [0, 0, 2, 0, 0, 0]
    assert [row[1] for row in world.run(care.CITIZENS, week, team=south)[1]] == ["Anna B.", "Mette M."]
    assert world.run(care.OPEN_ALERTS, week, team=south)[1] == []


def test_citizen_detail_uses_own_thresholds_and_own_timezone(world):
    ids, t, month = world.seeded.citizens, world.seeded.times, world.last_days(30)

    def of(key: str) -> Variable:
        return Variable(str(ids[key]))

    # Jens' own systolic limits make 120 a warning (the default would call it normal).
    assert world.run(detail.LEVEL, month, citizen=of("jens"))[1] == [("warning",)]
    limits = world.run(detail.BP_LIMITS, month, citizen=of("jens"))[1]
    assert limits[0][1:5] == (90.0, 100.0, 115.0, 140.0)
    assert world.run(detail.SESSIONS, month, citizen=of("jens"))[1] == [("morning", 125.0, 79.0, 59.0, 2, "warning")]
    # Anna lives in Reykjavik: her 15:00 reading belongs to no session (it is evening in Denmark).
    assert t["a2"].astimezone(ZoneInfo("Europe/Copenhagen")).hour >= 16
    assert world.run(detail.SESSIONS, month, citizen=of("anna"))[1] == [("morning", 118.0, 76.0, 60.0, 1, "normal")]
    # Mette never measured: one empty overview row, no series, no devices.
    assert world.run(detail.LAST, month, citizen=of("mette"))[1] == [(None, None, None)]
    assert world.run(detail.BP, month, citizen=of("mette"))[1] == []
    assert world.run(detail.DEVICES, month, citizen=of("mette"))[1] == []
    # A citizen variable that is not a number cannot become SQL: the cast rejects it.
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        world.run(detail.LAST, month, citizen=Variable("1 OR true"))


def test_grafana_sees_no_direct_identifier_in_any_view(world):
    views = [row[0] for row in world.conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'grafana' ORDER BY 1")]
    assert {"care_overview", "bp_readings", "bp_thresholds", "citizen_devices", "gateway_overview"} <= set(views)
    secrets = {str(value) for cpr, family, born in IDENTIFIERS.values() for value in (cpr, family, born)}
    for view in views:
        cursor = world.conn.execute(f"SELECT * FROM grafana.{view}")
        assert cursor.description is not None
        names = {column.name for column in cursor.description}
        assert not names & {"cpr", "family_name", "given_name", "birth_date", "raw", "payload"}, view
        for row in cursor.fetchall():
            for cell in row:
                assert not any(secret in str(cell) for secret in secrets), f"{view} shows {cell!r}"


def test_panel_sql_reads_only_grafana_views():
    for lang in ("da", "en"):
        for name, dashboard in load_generated(lang).items():
            queries = [t["rawSql"] for p in dashboard["panels"] for t in p["targets"]]
            queries += [v["query"] for v in dashboard["templating"]["list"]]
            for sql in queries:
                # Every relation after FROM/JOIN (but not "extract(epoch FROM column)").
                for relation in re.findall(r"(?<!epoch )\b(?:FROM|JOIN)\s+([\w.]+)", sql, flags=re.IGNORECASE):
                    assert relation.startswith("grafana."), f"{name}: reads {relation}"
                assert "--" not in sql and "/*" not in sql, f"{name}: no comments in panel SQL"


def test_migration_0004_down_and_up_again(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute((MIGRATIONS / "0004_dashboards.down.sql").read_text())
        assert conn.execute("SELECT to_regclass('grafana.care_overview')").fetchone() == (None,)
        conn.execute((MIGRATIONS / "0004_dashboards.up.sql").read_text())
        assert conn.execute("SELECT to_regclass('grafana.care_overview')").fetchone() == ("grafana.care_overview",)
