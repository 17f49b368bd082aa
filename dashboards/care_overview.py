"""Omsorgsoverblik (care overview): the nurse's start page for planning the day."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import stat, table
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as model

from dashboards import panels as p
from dashboards.common import (
    CARE_OVERVIEW_UID,
    CITIZEN_LINK,
    WEB_ALERT_LINK,
    WEB_CITIZEN_LINK,
    skeleton,
    team_variable,
    web_variable,
)
from dashboards.i18n import LOW_BATTERY_PERCENT, MISSING_DAYS, Lang, tr
from dashboards.sqlquery import SqlQuery
from database.alerts import AlertType
from homevitals.contract.kinds import KINDS
from homevitals.contract.kinds import METRICS as KIND_METRICS

IN_TEAM = "care_team IN (${team})"

RED_COUNT = f"""
SELECT count(*) FILTER (WHERE last_level = 'alert') AS citizens
FROM grafana.care_overview
WHERE {IN_TEAM}
"""
YELLOW_COUNT = f"""
SELECT count(*) FILTER (WHERE last_level = 'warning') AS citizens
FROM grafana.care_overview
WHERE {IN_TEAM}
"""
STALE_COUNT = f"""
SELECT count(*) FILTER (
  WHERE days_since_last >= {MISSING_DAYS} OR last_any_measured_at IS NULL) AS citizens
FROM grafana.care_overview
WHERE {IN_TEAM}
"""
OPEN_ALERTS_COUNT = f"""
SELECT coalesce(sum(open_alerts), 0)::bigint AS alerts
FROM grafana.care_overview
WHERE {IN_TEAM}
"""
OFFLINE_COUNT = f"""
SELECT count(*) FILTER (WHERE gateway_state = 'offline') AS citizens
FROM grafana.care_overview
WHERE {IN_TEAM}
"""
LOW_BATTERY_COUNT = f"""
SELECT count(*) FILTER (WHERE battery_min < {LOW_BATTERY_PERCENT}) AS citizens
FROM grafana.care_overview
WHERE {IN_TEAM}
"""
# Most worrying first: red, then yellow, then open alerts, then the longest silence.
CITIZENS = f"""
SELECT citizen_id, label, care_team, last_measured_at, last_systolic, last_diastolic,
       last_pulse, last_level, mean7_systolic, mean7_diastolic,
       mean7_readings, mean7_level, open_alerts, days_since_last, battery_min, gateway_state
FROM grafana.care_overview
WHERE {IN_TEAM}
ORDER BY last_level_rank DESC, open_alerts DESC, days_since_last DESC NULLS FIRST, label,
         citizen_id
"""
OPEN_ALERTS = """
SELECT a.alert_id, a.opened_at, a.citizen_id, c.label, c.care_team, a.level, a.state, a.alert_type,
       a.metric, a.value, a.measured_at
FROM grafana.alerts a
JOIN grafana.citizens c ON c.citizen_id = a.citizen_id
WHERE a.state <> 'resolved' AND c.care_team IN (${team})
ORDER BY grafana.level_rank(a.level) DESC, a.state = 'open' DESC, a.opened_at DESC
"""

ALERT_STATES = {"open": p.RED, "acknowledged": p.YELLOW}
ALERT_TYPES = dict.fromkeys(map(str, AlertType), p.GREY)
# An alert's metric: a threshold metric, or a kind (the kind registry's).
METRICS = dict.fromkeys([*(m.name for m in KIND_METRICS), *(str(kind) for kind in KINDS)], p.GREY)


def _citizen_links(lang: Lang) -> model.DynamicConfigValue:
    """A citizen's name opens Grafana's citizen detail, or the citizen's page in the web app."""
    return p.link(
        tr(lang, "link.open_citizen"), CITIZEN_LINK, (tr(lang, "link.web_citizen"), WEB_CITIZEN_LINK)
    )


def _count_stat(lang: Lang, key: str, sql: str, colour: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(tr(lang, f"care.{key}.title"))
        .description(tr(lang, f"care.{key}.description"))
        .with_target(SqlQuery(sql))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(values=False))
        .graph_mode(common_model.BigValueGraphMode.NONE)
        .color_mode(common_model.BigValueColorMode.BACKGROUND)
        .thresholds(p.steps(p.GREEN, (1, colour)))
        .no_value("0")
    )


def _citizens_table(lang: Lang) -> table.Panel:
    panel = (
        table.Panel()
        .title(tr(lang, "care.citizens.title"))
        .description(tr(lang, "care.citizens.description"))
        .with_target(SqlQuery(CITIZENS))
        .show_header(show_header=True)
        .cell_height(common_model.TableCellHeight.SM)
        .no_value("-")
    )
    mmhg = p.unit(tr(lang, "unit.mmhg"))
    return p.columns(
        panel,
        lang,
        [
            "label", "care_team", "last_measured_at", "last_systolic", "last_diastolic",
            "last_pulse", "last_level", "mean7_systolic",
            "mean7_diastolic", "mean7_readings", "mean7_level", "open_alerts", "days_since_last",
            "battery_min", "gateway_state",
        ],
        {
            "citizen_id": [p.hidden()],
            "label": [_citizen_links(lang)],
            "last_systolic": [mmhg],
            "last_diastolic": [mmhg],
            "last_pulse": [p.unit(tr(lang, "unit.pulse"))],
            "last_level": [p.mappings(p.level_mappings(lang)), p.colour_background()],
            "mean7_systolic": [mmhg],
            "mean7_diastolic": [mmhg],
            "mean7_level": [p.mappings(p.level_mappings(lang)), p.colour_background()],
            "open_alerts": [p.thresholds(p.steps(p.GREEN, (1, p.RED))), p.colour_background()],
            "days_since_last": [
                p.thresholds(p.steps(p.GREEN, (MISSING_DAYS - 1, p.YELLOW), (MISSING_DAYS, p.RED))),
                p.colour_background(),
                p.mappings([p.null_mapping(lang, "map.level.none", p.RED)]),
            ],
            "battery_min": [
                p.unit("percent"),
                p.thresholds(p.battery_steps()),
                p.colour_text(),
            ],
            "gateway_state": [p.mappings(p.gateway_mappings(lang)), p.colour_text()],
        },
    )


def _alerts_table(lang: Lang) -> table.Panel:
    panel = (
        table.Panel()
        .title(tr(lang, "care.alerts.title"))
        .description(tr(lang, "care.alerts.description"))
        .with_target(SqlQuery(OPEN_ALERTS))
        .show_header(show_header=True)
        .cell_height(common_model.TableCellHeight.SM)
    )
    return p.columns(
        panel,
        lang,
        ["opened_at", "label", "care_team", "level", "state", "alert_type", "metric", "value", "measured_at"],
        {
            "alert_id": [p.hidden()],
            "citizen_id": [p.hidden()],
            "label": [_citizen_links(lang)],
            "level": [
                p.link(tr(lang, "link.web_alert"), WEB_ALERT_LINK),
                p.mappings(p.level_mappings(lang)),
                p.colour_background(),
            ],
            "state": [p.mappings([p.value_mappings(lang, "alert_state", ALERT_STATES)]), p.colour_text()],
            "alert_type": [p.mappings([p.value_mappings(lang, "alert_type", ALERT_TYPES)])],
            "metric": [p.mappings([p.value_mappings(lang, "metric", METRICS)])],
        },
    )


def build(lang: Lang) -> dict[str, Any]:
    board = p.Board(
        skeleton(lang, CARE_OVERVIEW_UID, "care", time_from="now-7d", refresh="5m")
        .with_variable(team_variable(lang))
        .with_variable(web_variable(lang))
    )
    for key, sql, colour in (
        ("red", RED_COUNT, p.RED),
        ("yellow", YELLOW_COUNT, p.YELLOW),
        ("stale", STALE_COUNT, p.RED),
        ("open_alerts", OPEN_ALERTS_COUNT, p.RED),
        ("offline", OFFLINE_COUNT, p.RED),
        ("battery", LOW_BATTERY_COUNT, p.YELLOW),
    ):
        board.add(_count_stat(lang, key, sql, colour), w=4, h=4)
    board.add(_citizens_table(lang), w=24, h=14)
    board.add(_alerts_table(lang), w=24, h=9)
    return board.to_json()
