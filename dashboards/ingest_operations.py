"""Dataindlæsning og drift (ingest operations): the pipeline from MQTT to the database.

Time filters use ``received_at`` (the hub's commit time), not ``measured_at``: a reading
measured last week that a gateway delivers now is part of what the pipeline did now.
Migration 0004 indexes that column.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import common as common_model

from dashboards import panels as p
from dashboards.common import INGEST_UID, skeleton
from dashboards.i18n import Lang, tr
from dashboards.sqlquery import SqlQuery
from homevitals.contract.kinds import KINDS as READING_KINDS

IN_RANGE = "$__timeFilter(received_at)"

READINGS_TOTAL = f"SELECT count(*) AS readings FROM grafana.readings WHERE {IN_RANGE}"
DEAD_TOTAL = f"SELECT count(*) AS dead_letters FROM grafana.dead_letters WHERE {IN_RANGE}"
IMPLAUSIBLE_TOTAL = f"SELECT count(*) AS readings FROM grafana.readings WHERE implausible AND {IN_RANGE}"
UNASSIGNED_TOTAL = (
    f"SELECT count(*) AS readings FROM grafana.readings WHERE citizen_id IS NULL AND {IN_RANGE}"
)
_GATEWAY_LAG = "extract(epoch FROM received_at - gateway_time)::double precision"
_MEASURED_LAG = "extract(epoch FROM received_at - measured_at)::double precision"
LAG_P95 = f"""
SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY {_GATEWAY_LAG}) AS seconds
FROM grafana.readings
WHERE {IN_RANGE}
"""
# Scaled by the bucket length, so the curve reads "per minute" at any zoom level.
RATE = f"""
SELECT $__timeGroupAlias(received_at, $__interval),
       (count(*) * 60000.0 / $__interval_ms)::double precision AS readings_per_minute
FROM grafana.readings
WHERE {IN_RANGE}
GROUP BY 1
ORDER BY 1
"""
LAG = f"""
SELECT $__timeGroupAlias(received_at, $__interval),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {_MEASURED_LAG}) AS lag_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY {_MEASURED_LAG}) AS lag_p95,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY {_GATEWAY_LAG}) AS hub_lag_p95
FROM grafana.readings
WHERE {IN_RANGE}
GROUP BY 1
ORDER BY 1
"""
DEAD_BY_REASON = f"""
SELECT reason, count(*) AS dead_letters
FROM grafana.dead_letters
WHERE {IN_RANGE}
GROUP BY reason
ORDER BY 2 DESC, 1
"""
DEAD_LIST = f"""
SELECT received_at, gateway_id, reason, detail, topic, payload_bytes
FROM grafana.dead_letters
WHERE {IN_RANGE}
ORDER BY received_at DESC, dead_letter_id DESC
LIMIT 200
"""
IMPLAUSIBLE_SERIES = f"""
SELECT $__timeGroupAlias(received_at, $__interval), count(*) AS implausible_count
FROM grafana.readings
WHERE implausible AND {IN_RANGE}
GROUP BY 1
ORDER BY 1
"""
IMPLAUSIBLE_LIST = f"""
SELECT measured_at, received_at, gateway_id, kind, array_to_string(implausible_reasons, ', ') AS reasons,
       device_id
FROM grafana.readings
WHERE implausible AND {IN_RANGE}
ORDER BY received_at DESC, measured_at DESC
LIMIT 200
"""

# Reading kinds, labelled from the kind registry (map.metric.<kind>).
KINDS = dict.fromkeys(map(str, READING_KINDS), p.GREY)


def _stat(lang: Lang, key: str, sql: str, config: dashboard_builders.ThresholdsConfig) -> stat.Panel:
    return (
        stat.Panel()
        .title(tr(lang, f"ingest.{key}.title"))
        .description(tr(lang, f"ingest.{key}.description"))
        .with_target(SqlQuery(sql))
        .graph_mode(common_model.BigValueGraphMode.NONE)
        .color_mode(common_model.BigValueColorMode.BACKGROUND)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(values=False))
        .thresholds(config)
        .no_value("0")
    )


def _series(lang: Lang, key: str, sql: str, unit: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(tr(lang, f"ingest.{key}.title"))
        .description(tr(lang, f"ingest.{key}.description"))
        .with_target(SqlQuery(sql).time_series())
        .interval("1m")  # $__interval never drops below a minute: "per minute" stays exact
        .unit(unit)
        .span_nulls(span_nulls=False)
    )


def _dead_list(lang: Lang) -> table.Panel:
    panel = (
        table.Panel()
        .title(tr(lang, "ingest.dead_list.title"))
        .description(tr(lang, "ingest.dead_list.description"))
        .with_target(SqlQuery(DEAD_LIST))
        .show_header(show_header=True)
        .cell_height(common_model.TableCellHeight.SM)
    )
    return p.columns(
        panel,
        lang,
        ["received_at", "gateway_id", "reason", "detail", "topic", "payload_bytes"],
        {"payload_bytes": [p.unit("decbytes")]},
    )


def _implausible_list(lang: Lang) -> table.Panel:
    panel = (
        table.Panel()
        .title(tr(lang, "ingest.implausible_list.title"))
        .description(tr(lang, "ingest.implausible_list.description"))
        .with_target(SqlQuery(IMPLAUSIBLE_LIST))
        .show_header(show_header=True)
        .cell_height(common_model.TableCellHeight.SM)
    )
    return p.columns(
        panel,
        lang,
        ["measured_at", "received_at", "gateway_id", "kind", "reasons", "device_id"],
        {"kind": [p.mappings([p.value_mappings(lang, "metric", KINDS)])]},
    )


def build(lang: Lang) -> dict[str, Any]:
    board = p.Board(skeleton(lang, INGEST_UID, "ingest", time_from="now-6h", refresh="1m"))
    board.add(_stat(lang, "readings_total", READINGS_TOTAL, p.steps(p.BLUE)), w=5, h=4)
    board.add(_stat(lang, "dead_total", DEAD_TOTAL, p.steps(p.GREEN, (1, p.RED))), w=5, h=4)
    board.add(_stat(lang, "implausible_total", IMPLAUSIBLE_TOTAL, p.steps(p.GREEN, (1, p.YELLOW))), w=5, h=4)
    board.add(_stat(lang, "unassigned_total", UNASSIGNED_TOTAL, p.steps(p.GREEN, (1, p.YELLOW))), w=5, h=4)
    board.add(
        _stat(lang, "lag_stat", LAG_P95, p.steps(p.GREEN, (10, p.YELLOW), (60, p.RED))).unit("s"), w=4, h=4
    )
    rate = p.columns(_series(lang, "rate", RATE, "short"), lang, ["readings_per_minute"])
    board.add(rate, w=12, h=8)
    lag = p.columns(_series(lang, "lag", LAG, "s"), lang, ["lag_p50", "lag_p95", "hub_lag_p95"])
    board.add(lag, w=12, h=8)
    board.add(
        bargauge.Panel()
        .title(tr(lang, "ingest.dead_by_reason.title"))
        .description(tr(lang, "ingest.dead_by_reason.description"))
        .with_target(SqlQuery(DEAD_BY_REASON))
        .reduce_options(
            common_builders.ReduceDataOptions().values(values=True).calcs(["lastNotNull"]).fields("/^dead_letters$/")
        )
        .display_mode(common_model.BarGaugeDisplayMode.BASIC)
        .orientation(common_model.VizOrientation.HORIZONTAL)
        .thresholds(p.steps(p.RED))
        .no_value(tr(lang, "no_data")),
        w=8,
        h=8,
    )
    board.add(_dead_list(lang), w=16, h=8)
    implausible = p.columns(
        _series(lang, "implausible_series", IMPLAUSIBLE_SERIES, "short").draw_style(
            common_model.GraphDrawStyle.BARS
        ),
        lang,
        ["implausible_count"],
    )
    board.add(implausible, w=8, h=8)
    board.add(_implausible_list(lang), w=16, h=8)
    return board.to_json()
