"""Udstyr og gateways (fleet): every gateway and monitor, for the operator."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.models import common as common_model

from dashboards import panels as p
from dashboards.common import FLEET_UID, skeleton
from dashboards.i18n import LOW_BATTERY_PERCENT, Lang, tr
from dashboards.sqlquery import SqlQuery

ONLINE = "SELECT count(*) FILTER (WHERE state = 'online') AS gateways FROM grafana.gateways"
OFFLINE = "SELECT count(*) FILTER (WHERE state = 'offline') AS gateways FROM grafana.gateways"
UNKNOWN = "SELECT count(*) FILTER (WHERE state = 'unknown') AS gateways FROM grafana.gateways"
OUTBOX = "SELECT coalesce(sum(outbox_depth), 0)::bigint AS batches FROM grafana.gateways"
LOW_BATTERY = (
    f"SELECT count(*) FILTER (WHERE battery_level < {LOW_BATTERY_PERCENT}) AS devices FROM grafana.devices"
)
GAPS_TOTAL = """
SELECT coalesce(sum(still_missing), 0)::bigint AS missing
FROM grafana.batch_gaps
WHERE $__timeFilter(detected_at)
"""
GATEWAYS = """
SELECT gateway_id, state, last_seen, outbox_depth, outbox_full, devices, battery_min, version,
       last_batch_seq, missing_batches, quarantined_readings, revoked_at
FROM grafana.gateway_overview
ORDER BY state = 'offline' DESC, state = 'unknown' DESC, last_seen ASC NULLS FIRST, gateway_id
"""
DEVICES_PER_GATEWAY = """
SELECT gateway_id, devices
FROM grafana.gateway_overview
ORDER BY devices DESC, gateway_id
LIMIT 30
"""
OUTBOX_PER_GATEWAY = """
SELECT gateway_id, coalesce(outbox_depth, 0) AS outbox_depth
FROM grafana.gateways
ORDER BY 2 DESC, gateway_id
LIMIT 30
"""
BATTERY = """
SELECT coalesce(model || ' ', '') || '#' || device_id AS device, battery_level
FROM grafana.devices
WHERE battery_level IS NOT NULL
ORDER BY battery_level, device_id
LIMIT 50
"""
# One series per gateway: Grafana names a series after the "metric" column.
GAPS_SERIES = """
SELECT $__timeGroupAlias(detected_at, $__interval), gateway_id AS metric,
       sum(still_missing)::bigint AS missing
FROM grafana.batch_gaps
WHERE $__timeFilter(detected_at)
GROUP BY 1, 2
ORDER BY 1
"""
GAPS_TABLE = """
SELECT detected_at, gateway_id, expected_seq, received_seq, still_missing AS missing
FROM grafana.batch_gaps
WHERE $__timeFilter(detected_at)
ORDER BY detected_at DESC, gateway_id
LIMIT 200
"""


def _stat(lang: Lang, key: str, sql: str, *limits: tuple[float, str], base: str = p.GREEN) -> stat.Panel:
    return (
        stat.Panel()
        .title(tr(lang, f"fleet.{key}.title"))
        .description(tr(lang, f"fleet.{key}.description"))
        .with_target(SqlQuery(sql))
        .graph_mode(common_model.BigValueGraphMode.NONE)
        .color_mode(common_model.BigValueColorMode.BACKGROUND)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(values=False))
        .thresholds(p.steps(base, *limits))
        .no_value("0")
    )


def _bar(lang: Lang, key: str, sql: str, field: str) -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title(tr(lang, f"fleet.{key}.title"))
        .description(tr(lang, f"fleet.{key}.description"))
        .with_target(SqlQuery(sql))
        .reduce_options(
            common_builders.ReduceDataOptions().values(values=True).calcs(["lastNotNull"]).fields(f"/^{field}$/")
        )
        .display_mode(common_model.BarGaugeDisplayMode.BASIC)
        .orientation(common_model.VizOrientation.HORIZONTAL)
        .no_value(tr(lang, "no_data"))
    )


def _gateways_table(lang: Lang) -> table.Panel:
    panel = (
        table.Panel()
        .title(tr(lang, "fleet.gateways.title"))
        .description(tr(lang, "fleet.gateways.description"))
        .with_target(SqlQuery(GATEWAYS))
        .show_header(show_header=True)
        .cell_height(common_model.TableCellHeight.SM)
    )
    return p.columns(
        panel,
        lang,
        [
            "gateway_id", "state", "last_seen", "outbox_depth", "outbox_full", "devices", "battery_min",
            "version", "last_batch_seq", "missing_batches", "quarantined_readings", "revoked_at",
        ],
        {
            "state": [p.mappings(p.gateway_mappings(lang)), p.colour_background()],
            "outbox_full": [p.mappings(p.bool_mappings(lang, p.RED)), p.colour_text()],
            "battery_min": [
                p.unit("percent"),
                p.thresholds(p.battery_steps()),
                p.colour_text(),
            ],
            "missing_batches": [p.thresholds(p.steps(p.GREEN, (1, p.YELLOW))), p.colour_text()],
            # Readings it sent for a device it does not serve, or after it was revoked.
            "quarantined_readings": [p.thresholds(p.steps(p.GREEN, (1, p.RED))), p.colour_text()],
        },
    )


def _gaps_table(lang: Lang) -> table.Panel:
    panel = (
        table.Panel()
        .title(tr(lang, "fleet.gaps_table.title"))
        .description(tr(lang, "fleet.gaps_table.description"))
        .with_target(SqlQuery(GAPS_TABLE))
        .show_header(show_header=True)
    )
    return p.columns(panel, lang, ["detected_at", "gateway_id", "expected_seq", "received_seq", "missing"])


def build(lang: Lang) -> dict[str, Any]:
    board = p.Board(skeleton(lang, FLEET_UID, "fleet", time_from="now-7d", refresh="1m"))
    board.add(_stat(lang, "online", ONLINE, base=p.GREEN), w=4, h=4)
    board.add(_stat(lang, "offline", OFFLINE, (1, p.RED)), w=4, h=4)
    board.add(_stat(lang, "unknown", UNKNOWN, (1, p.YELLOW)), w=4, h=4)
    outbox = _stat(lang, "outbox", OUTBOX, (1, p.YELLOW), (100, p.RED)).unit(tr(lang, "unit.batches"))
    board.add(outbox, w=4, h=4)
    board.add(_stat(lang, "low_battery", LOW_BATTERY, (1, p.YELLOW)), w=4, h=4)
    board.add(_stat(lang, "gaps_total", GAPS_TOTAL, (1, p.YELLOW)), w=4, h=4)
    board.add(_gateways_table(lang), w=24, h=10)
    per_gateway = _bar(lang, "devices_per_gateway", DEVICES_PER_GATEWAY, "devices")
    per_gateway.thresholds(p.steps(p.BLUE))
    board.add(per_gateway, w=8, h=9)
    board.add(
        _bar(lang, "outbox_per_gateway", OUTBOX_PER_GATEWAY, "outbox_depth").thresholds(
            p.steps(p.GREEN, (1, p.YELLOW), (100, p.RED))
        ),
        w=8,
        h=9,
    )
    board.add(
        _bar(lang, "battery", BATTERY, "battery_level")
        .unit("percent")
        .min(0)
        .max(100)
        .thresholds(p.battery_steps()),
        w=8,
        h=9,
    )
    board.add(
        timeseries.Panel()
        .title(tr(lang, "fleet.gaps_series.title"))
        .description(tr(lang, "fleet.gaps_series.description"))
        .with_target(SqlQuery(GAPS_SERIES).time_series())
        .draw_style(common_model.GraphDrawStyle.BARS)
        .fill_opacity(80)
        .unit(tr(lang, "unit.batches")),
        w=12,
        h=8,
    )
    board.add(_gaps_table(lang), w=12, h=8)
    return board.to_json()
