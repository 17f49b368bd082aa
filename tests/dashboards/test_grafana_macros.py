"""The macro expander against Grafana's own expectations.

Macro cases are the ones in Grafana's pkg/tsdb/grafana-postgresql-datasource/macros_test.go;
variable cases follow SqlDatasource.interpolateVariable and templateSrv.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.grafana_sql import (
    MacroError,
    TimeRange,
    Variable,
    expand_macros,
    format_interval,
    interpolate_variables,
    parse_interval,
    render,
    rfc3339nano,
)

pytestmark = pytest.mark.unit

FROM = datetime(2018, 4, 12, 18, 0, tzinfo=UTC)
RANGE = TimeRange(FROM, FROM + timedelta(minutes=5))
MINUTE = timedelta(minutes=1)


def pg(sql: str, time_range: TimeRange = RANGE) -> str:
    return expand_macros(sql, time_range, MINUTE, timescaledb=False)


def ts(sql: str) -> str:
    return expand_macros(sql, RANGE, MINUTE, timescaledb=True)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select $__time(time_column)", 'select time_column AS "time"'),
        ("select min($__time(time_column))", 'select min(time_column AS "time")'),
        ("select $__timeEpoch(time_column)", 'select extract(epoch from time_column) as "time"'),
        ("WHERE $__timeFilter(time_column)",
         "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'"),
        ("select $__timeFrom()", "select '2018-04-12T18:00:00Z'"),
        ("select $__timeTo()", "select '2018-04-12T18:05:00Z'"),
        ("SELECT $__timeGroup(time_column,'5m')", "SELECT floor(extract(epoch from time_column)/300)*300"),
        ("SELECT $__timeGroupAlias(time_column,'5m')",
         'SELECT floor(extract(epoch from time_column)/300)*300 AS "time"'),
        ("$__timeGroup(time_column , '5m')", "floor(extract(epoch from time_column)/300)*300"),
        # pre-5.3 compatibility: a comma right after the macro means the alias form
        ("SELECT $__timeGroup(time_column,'5m'), value",
         'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value'),
        ("SELECT $__timeGroup(time_column,'5m') as time, value",
         "SELECT floor(extract(epoch from time_column)/300)*300 as time, value"),
        ("select $__unixEpochFilter(time)", "select time >= 1523556000 AND time <= 1523556300"),
        ("select $__unixEpochNanoFilter(time)",
         "select time >= 1523556000000000000 AND time <= 1523556300000000000"),
        ("select $__unixEpochNanoFrom()", "select 1523556000000000000"),
        ("select $__unixEpochNanoTo()", "select 1523556300000000000"),
        ("SELECT $__unixEpochGroup(time_column+time_adjustment,'5m')",
         "SELECT floor((time_column+time_adjustment)/300)*300"),
        ("SELECT $__unixEpochGroupAlias(time_column+time_adjustment,'5m')",
         'SELECT floor((time_column+time_adjustment)/300)*300 AS "time"'),
        ("select $__unixEpochFrom(), $__unixEpochTo()", "select 1523556000, 1523556300"),
    ],
)
def test_macros_expand_like_grafana_without_timescaledb(sql, expected):
    assert pg(sql) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("GROUP BY $__timeGroup(time_column,'5m')", "GROUP BY time_bucket('300.000s',time_column)"),
        ("GROUP BY $__timeGroup(time_column , '5m')", "GROUP BY time_bucket('300.000s',time_column)"),
        ("GROUP BY $__timeGroup(time_column , '12d')", "GROUP BY time_bucket('1036800.000s',time_column)"),
        ("GROUP BY $__timeGroup(time_column , '20ms')", "GROUP BY time_bucket('0.020s',time_column)"),
        ("SELECT $__timeGroupAlias(c, $__interval)", "SELECT time_bucket('60.000s',c) AS \"time\""),
    ],
)
def test_time_group_becomes_time_bucket_with_timescaledb(sql, expected):
    assert ts(sql) == expected


def test_times_keep_fractions_like_go_rfc3339nano_and_old_dates_work():
    half = TimeRange(datetime(1960, 2, 1, 7, 0, 0, 500_000, tzinfo=UTC), datetime(1980, 2, 3, 8, 0, 0, 500_000, tzinfo=UTC))
    assert pg("WHERE $__timeFilter(t)", half) == (
        "WHERE t BETWEEN '1960-02-01T07:00:00.5Z' AND '1980-02-03T08:00:00.5Z'")
    assert pg("select $__unixEpochFilter(time)", half) == "select time >= -312915600 AND time <= 318412800"
    assert rfc3339nano(datetime(2026, 1, 1, 12, 0, 0, 120_000, tzinfo=UTC)) == "2026-01-01T12:00:00.12Z"


def test_interval_text_and_parsing_follow_gtime():
    assert [format_interval(timedelta(seconds=s)) for s in (0.02, 5, 60, 90, 3600, 86400 * 2)] == [
        "20ms", "5s", "1m", "1m", "1h", "2d"]
    assert parse_interval("'5m'") == 300
    assert parse_interval("1h30m") == 5400
    assert parse_interval("1w") == 7 * 86400
    with pytest.raises(MacroError, match="error parsing interval"):
        parse_interval("5 minutes")


def test_macro_errors_are_reported_like_grafana():
    with pytest.raises(MacroError, match="missing time column"):
        pg("WHERE $__timeFilter()")
    with pytest.raises(MacroError, match="needs time column and interval"):
        pg("SELECT $__timeGroup(c)")
    with pytest.raises(MacroError, match="unknown macro"):
        pg("SELECT $__nonsense(c)")


def test_variables_are_quoted_as_the_sql_data_source_quotes_them():
    teams = Variable(("nord", "o'syd"), multi=True, include_all=True, options=("nord", "o'syd", "vest"))
    everyone = Variable(("$__all",), multi=True, include_all=True, options=("nord", "o'syd", "vest"))
    single = Variable("it's 7")
    variables = {"team": teams, "all": everyone, "one": single}
    sql = "IN (${team}) / IN ($all) / '${one}' / [[one]] / ${team:csv} / ${one:sqlstring} / $unknown / $__timeFilter(x)"
    assert interpolate_variables(sql, variables, RANGE, MINUTE) == (
        "IN ('nord','o''syd') / IN ('nord','o''syd','vest') / 'it''s 7' / it''s 7 / nord,o'syd / 'it''s 7' / "
        "$unknown / $__timeFilter(x)")
    # One value of a multi-value variable is still a quoted literal.
    assert interpolate_variables("${t}", {"t": Variable("nord", multi=True)}, RANGE, MINUTE) == "'nord'"
    with pytest.raises(MacroError, match="format"):
        interpolate_variables("${team:regex}", variables, RANGE, MINUTE)


def test_builtin_interval_and_range_variables_then_macros():
    sql = "SELECT $__timeGroupAlias(t, $__interval), count(*) * 60000.0 / $__interval_ms, ${__from}, $__to"
    assert render(sql, variables={}, time_range=RANGE, interval=timedelta(minutes=5)) == (
        "SELECT time_bucket('300.000s',t) AS \"time\", count(*) * 60000.0 / 300000, 1523556000000, 1523556300000")


def test_time_range_must_be_timezone_aware():
    with pytest.raises(MacroError, match="timezone-aware"):
        TimeRange(datetime(2026, 1, 1), datetime(2026, 1, 2))
