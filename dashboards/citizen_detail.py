"""Borgerdetaljer (citizen detail): one citizen's trend, opened from the care overview."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as model

from dashboards import panels as p
from dashboards.common import (
    CITIZEN,
    CITIZEN_DETAIL_UID,
    WEB_CITIZEN_DASHBOARD_LINK,
    citizen_variable,
    skeleton,
    team_variable,
    web_variable,
)
from dashboards.i18n import MISSING_DAYS, Lang, tr
from dashboards.sqlquery import SqlQuery

OVERVIEW_ROW = f"FROM grafana.care_overview WHERE citizen_id = {CITIZEN}"
LAST = f"SELECT last_systolic, last_diastolic, last_pulse {OVERVIEW_ROW}"
LEVEL = f"SELECT last_level {OVERVIEW_ROW}"
MEAN7 = f"SELECT mean7_systolic, mean7_diastolic, mean7_readings {OVERVIEW_ROW}"
DAYS = f"SELECT days_since_last {OVERVIEW_ROW}"
ALERTS = f"SELECT open_alerts {OVERVIEW_ROW}"

BP = f"""
SELECT measured_at AS "time", systolic, diastolic
FROM grafana.bp_readings
WHERE citizen_id = {CITIZEN} AND NOT implausible AND $__timeFilter(measured_at)
ORDER BY 1
"""
PULSE = f"""
SELECT measured_at AS "time", pulse_rate
FROM grafana.bp_readings
WHERE citizen_id = {CITIZEN} AND NOT implausible AND pulse_rate IS NOT NULL
  AND $__timeFilter(measured_at)
ORDER BY 1
"""
# Thresholds as flat series across the time range: two points, at its start and its end.
_EDGES = "CROSS JOIN (VALUES ($__timeFrom()::timestamptz), ($__timeTo()::timestamptz)) AS edge(ts)"
BP_LIMITS = f"""
SELECT edge.ts AS "time", t.sys_alert_low, t.sys_warn_low, t.sys_warn_high, t.sys_alert_high,
       t.dia_alert_low, t.dia_warn_low, t.dia_warn_high, t.dia_alert_high
FROM grafana.bp_thresholds t
{_EDGES}
WHERE t.citizen_id = {CITIZEN}
ORDER BY 1
"""
PULSE_LIMITS = f"""
SELECT edge.ts AS "time", t.pulse_alert_low, t.pulse_warn_low, t.pulse_warn_high,
       t.pulse_alert_high
FROM grafana.bp_thresholds t
{_EDGES}
WHERE t.citizen_id = {CITIZEN}
ORDER BY 1
"""
_IN_SESSION = (
    f"WHERE citizen_id = {CITIZEN} AND NOT implausible AND session IS NOT NULL\n"
    "  AND $__timeFilter(measured_at)"
)
# Means per session over the range, then their level by the citizen's thresholds.
SESSIONS = f"""
SELECT m.session, m.systolic, m.diastolic, m.pulse_rate, m.readings,
       grafana.worst_level(
         grafana.threshold_level(m.systolic, t.sys_alert_low, t.sys_warn_low,
                                 t.sys_warn_high, t.sys_alert_high),
         grafana.threshold_level(m.diastolic, t.dia_alert_low, t.dia_warn_low,
                                 t.dia_warn_high, t.dia_alert_high)) AS level
FROM (
  SELECT citizen_id, session,
         round(avg(systolic)::numeric, 1)::double precision AS systolic,
         round(avg(diastolic)::numeric, 1)::double precision AS diastolic,
         round(avg(pulse_rate)::numeric, 1)::double precision AS pulse_rate,
         count(*) AS readings
  FROM grafana.bp_readings
  {_IN_SESSION}
  GROUP BY citizen_id, session
) m
JOIN grafana.bp_thresholds t ON t.citizen_id = m.citizen_id
ORDER BY m.session DESC
"""
# One point per local day and session, placed at the mean time of that session's readings.
DAILY = f"""
SELECT to_timestamp(avg(extract(epoch FROM measured_at))::double precision) AS "time",
       CASE WHEN session = 'morning' THEN round(avg(systolic)::numeric, 1)::double precision END
         AS morning_systolic,
       CASE WHEN session = 'morning' THEN round(avg(diastolic)::numeric, 1)::double precision END
         AS morning_diastolic,
       CASE WHEN session = 'evening' THEN round(avg(systolic)::numeric, 1)::double precision END
         AS evening_systolic,
       CASE WHEN session = 'evening' THEN round(avg(diastolic)::numeric, 1)::double precision END
         AS evening_diastolic
FROM grafana.bp_readings
{_IN_SESSION}
GROUP BY local_date, session
ORDER BY 1
"""
READINGS = f"""
SELECT measured_at AS "time", systolic, diastolic, pulse_rate, level, body_movement,
       irregular_pulse, cuff_fit_loose, improper_position, implausible, clock_in_future,
       time_source, gateway_id
FROM grafana.bp_readings
WHERE citizen_id = {CITIZEN} AND $__timeFilter(measured_at)
ORDER BY measured_at DESC
LIMIT 1000
"""
_DEVICE_NAME = "coalesce(model || ' ', '') || '#' || device_id AS device"
BATTERY = f"""
SELECT {_DEVICE_NAME}, battery_level
FROM grafana.citizen_devices
WHERE citizen_id = {CITIZEN}
ORDER BY device_id
"""
DEVICES = f"""
SELECT {_DEVICE_NAME}, battery_level, battery_at, device_last_seen, gateway_id, gateway_state,
       gateway_last_seen, outbox_depth
FROM grafana.citizen_devices
WHERE citizen_id = {CITIZEN}
ORDER BY device_id
"""

TIME_SOURCES = {"device": p.GREY, "device_corrected": p.GREY, "gateway": p.YELLOW}
SESSION_NAMES = {"morning": p.GREY, "evening": p.GREY}
LIMIT_SERIES = ("alert_low", "warn_low", "warn_high", "alert_high")


def _stat(lang: Lang, key: str, sql: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(tr(lang, f"citizen.{key}.title"))
        .description(tr(lang, f"citizen.{key}.description"))
        .with_target(SqlQuery(sql))
        .graph_mode(common_model.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(values=False))
        .no_value(tr(lang, "map.level.none"))
    )


def _stats(lang: Lang) -> list[tuple[stat.Panel, int]]:
    mmhg = p.unit(tr(lang, "unit.mmhg"))
    last = p.columns(
        _stat(lang, "last", LAST).color_mode(common_model.BigValueColorMode.VALUE),
        lang,
        ["last_systolic", "last_diastolic", "last_pulse"],
        {"last_systolic": [mmhg], "last_diastolic": [mmhg], "last_pulse": [p.unit(tr(lang, "unit.pulse"))]},
    ).thresholds(p.steps(p.BLUE))
    level = (
        _stat(lang, "level", LEVEL)
        .color_mode(common_model.BigValueColorMode.BACKGROUND)
        .reduce_options(
            common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(values=False).fields("/^last_level$/")
        )
        .mappings(p.level_mappings(lang))
    )
    mean7 = p.columns(
        _stat(lang, "mean7", MEAN7).color_mode(common_model.BigValueColorMode.VALUE),
        lang,
        ["mean7_systolic", "mean7_diastolic", "mean7_readings"],
        {"mean7_systolic": [mmhg], "mean7_diastolic": [mmhg]},
    ).thresholds(p.steps(p.BLUE))
    days = (
        _stat(lang, "days", DAYS)
        .color_mode(common_model.BigValueColorMode.BACKGROUND)
        .unit(tr(lang, "unit.days"))
        .thresholds(p.steps(p.GREEN, (MISSING_DAYS - 1, p.YELLOW), (MISSING_DAYS, p.RED)))
    )
    alerts = (
        _stat(lang, "alerts", ALERTS)
        .color_mode(common_model.BigValueColorMode.BACKGROUND)
        .thresholds(p.steps(p.GREEN, (1, p.RED)))
    )
    return [(last, 6), (level, 4), (mean7, 6), (days, 4), (alerts, 4)]


def _limit_overrides(panel: timeseries.Panel, lang: Lang, prefix: str, metric_key: str) -> None:
    """Dashed limit lines; the yellow ones fill down (or up) to the red: the warning zones."""
    metric = tr(lang, f"col.{metric_key}")

    def display(limit: str) -> str:
        return f"{metric} {tr(lang, f'col.{limit}')}"

    for limit in LIMIT_SERIES:
        colour = p.RED if limit.startswith("alert") else p.YELLOW
        props = [
            p.prop("displayName", display(limit)),
            p.fixed_colour(colour),
            p.prop("custom.lineStyle", {"fill": "dash", "dash": [10, 10]}),
            p.prop("custom.lineWidth", 1),
            p.prop("custom.showPoints", "never"),
            p.prop("custom.spanNulls", value=True),
            p.prop("custom.hideFrom", {"legend": True, "tooltip": False, "viz": False}),
        ]
        if limit.startswith("warn"):
            partner = limit.replace("warn", "alert")
            props += [p.prop("custom.fillBelowTo", display(partner)), p.prop("custom.fillOpacity", 12)]
        panel.override_by_name(f"{prefix}_{limit}", props)


def _trend(lang: Lang, key: str, values_sql: str, limits_sql: str, unit_key: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(tr(lang, f"citizen.{key}.title"))
        .description(tr(lang, f"citizen.{key}.description"))
        .with_target(SqlQuery(values_sql).time_series())
        .with_target(SqlQuery(limits_sql).ref_id("B").time_series())
        .unit(tr(lang, unit_key))
        .draw_style(common_model.GraphDrawStyle.LINE)
        .line_width(2)
        .show_points(common_model.VisibilityMode.ALWAYS)
        .point_size(6)
        .span_nulls(span_nulls=True)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common_model.LegendDisplayMode.LIST)
            .placement(common_model.LegendPlacement.BOTTOM)
            .show_legend(show_legend=True)
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common_model.TooltipDisplayMode.MULTI)
            .sort(common_model.SortOrder.NONE)
        )
    )


def _bp_panel(lang: Lang) -> timeseries.Panel:
    panel = _trend(lang, "bp", BP, BP_LIMITS, "unit.mmhg")
    p.columns(
        panel,
        lang,
        ["systolic", "diastolic"],
        {
            "systolic": [p.fixed_colour("dark-blue")],
            "diastolic": [p.fixed_colour("light-blue")],
        },
    )
    _limit_overrides(panel, lang, "sys", "systolic")
    _limit_overrides(panel, lang, "dia", "diastolic")
    return panel


def _pulse_panel(lang: Lang) -> timeseries.Panel:
    panel = _trend(lang, "pulse", PULSE, PULSE_LIMITS, "unit.pulse")
    purple = p.fixed_colour("purple")
    p.columns(panel, lang, ["pulse_rate"], {"pulse_rate": [purple]})
    _limit_overrides(panel, lang, "pulse", "pulse_rate")
    return panel


def _sessions_table(lang: Lang) -> table.Panel:
    mmhg = p.unit(tr(lang, "unit.mmhg"))
    panel = (
        table.Panel()
        .title(tr(lang, "citizen.sessions.title"))
        .description(tr(lang, "citizen.sessions.description"))
        .with_target(SqlQuery(SESSIONS))
        .show_header(show_header=True)
    )
    return p.columns(
        panel,
        lang,
        ["session", "systolic", "diastolic", "pulse_rate", "readings", "level"],
        {
            "session": [p.mappings([p.value_mappings(lang, "session", SESSION_NAMES)])],
            "systolic": [mmhg],
            "diastolic": [mmhg],
            "pulse_rate": [p.unit(tr(lang, "unit.pulse"))],
            "level": [p.mappings(p.level_mappings(lang)), p.colour_background()],
        },
    )


def _daily_panel(lang: Lang) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(tr(lang, "citizen.daily.title"))
        .description(tr(lang, "citizen.daily.description"))
        .with_target(SqlQuery(DAILY).time_series())
        .unit(tr(lang, "unit.mmhg"))
        .show_points(common_model.VisibilityMode.ALWAYS)
        .point_size(6)
        .span_nulls(span_nulls=True)
    )
    colours = {
        "morning_systolic": "orange",
        "morning_diastolic": "light-orange",
        "evening_systolic": "dark-purple",
        "evening_diastolic": "light-purple",
    }
    return p.columns(
        panel,
        lang,
        list(colours),
        {name: [p.fixed_colour(colour)] for name, colour in colours.items()},
    )


def _readings_table(lang: Lang) -> table.Panel:
    mmhg = p.unit(tr(lang, "unit.mmhg"))
    flags = {
        name: [p.mappings(p.bool_mappings(lang)), p.colour_text()]
        for name in (
            "body_movement", "irregular_pulse", "cuff_fit_loose", "improper_position", "implausible",
            "clock_in_future",
        )
    }
    panel = (
        table.Panel()
        .title(tr(lang, "citizen.readings.title"))
        .description(tr(lang, "citizen.readings.description"))
        .with_target(SqlQuery(READINGS))
        .show_header(show_header=True)
        .cell_height(common_model.TableCellHeight.SM)
    )
    return p.columns(
        panel,
        lang,
        [
            "time", "systolic", "diastolic", "pulse_rate", "level", *flags, "time_source", "gateway_id",
        ],
        {
            "systolic": [mmhg],
            "diastolic": [mmhg],
            "pulse_rate": [p.unit(tr(lang, "unit.pulse"))],
            "level": [p.mappings(p.level_mappings(lang)), p.colour_background()],
            **flags,
            "time_source": [
                p.mappings([p.value_mappings(lang, "time_source", TIME_SOURCES)]),
                p.colour_text(),
            ],
        },
    )


def _battery_gauge(lang: Lang) -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title(tr(lang, "citizen.battery.title"))
        .description(tr(lang, "citizen.battery.description"))
        .with_target(SqlQuery(BATTERY))
        .reduce_options(
            common_builders.ReduceDataOptions().values(values=True).calcs(["lastNotNull"]).fields("/^battery_level$/")
        )
        .display_mode(common_model.BarGaugeDisplayMode.BASIC)
        .orientation(common_model.VizOrientation.HORIZONTAL)
        .unit("percent")
        .min(0)
        .max(100)
        .thresholds(p.battery_steps())
        .no_value(tr(lang, "no_data"))
    )


def _devices_table(lang: Lang) -> table.Panel:
    panel = (
        table.Panel()
        .title(tr(lang, "citizen.devices.title"))
        .description(tr(lang, "citizen.devices.description"))
        .with_target(SqlQuery(DEVICES))
        .show_header(show_header=True)
    )
    return p.columns(
        panel,
        lang,
        [
            "device", "battery_level", "battery_at", "device_last_seen", "gateway_id", "gateway_state",
            "gateway_last_seen", "outbox_depth",
        ],
        {
            "battery_level": [
                p.unit("percent"),
                p.thresholds(p.battery_steps()),
                p.colour_text(),
            ],
            "gateway_state": [p.mappings(p.gateway_mappings(lang)), p.colour_background()],
        },
    )


def build(lang: Lang) -> dict[str, Any]:
    board = p.Board(
        skeleton(lang, CITIZEN_DETAIL_UID, "citizen", time_from="now-30d", refresh="5m")
        .with_variable(team_variable(lang))
        .with_variable(citizen_variable(lang))
        .with_variable(web_variable(lang))
        .link(
            builders.DashboardLink(tr(lang, "link.web_citizen"))
            .type(model.DashboardLinkType.LINK)
            .url(WEB_CITIZEN_DASHBOARD_LINK)
            .icon("external link")
        )
    )
    for panel, width in _stats(lang):
        board.add(panel, w=width, h=4)
    board.add(_bp_panel(lang), w=16, h=10)
    board.add(_pulse_panel(lang), w=8, h=10)
    board.add(_sessions_table(lang), w=8, h=8)
    board.add(_daily_panel(lang), w=16, h=8)
    board.add(_readings_table(lang), w=24, h=11)
    board.add(_battery_gauge(lang), w=8, h=6)
    board.add(_devices_table(lang), w=16, h=6)
    return board.to_json()

