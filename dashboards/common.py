"""What the four dashboards share: uids, the skeleton, links and the template variables."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.models import dashboard as model

from dashboards.i18n import Lang, tr
from dashboards.sqlquery import datasource_ref

FOLDER_UID = "homevitals"
TAGS = ["homevitals"]

# Stable across languages: a deployment serves one language, and links between the
# dashboards (and bookmarks) keep working when it switches.
CARE_OVERVIEW_UID = "homevitals-care-overview"
CITIZEN_DETAIL_UID = "homevitals-citizen-detail"
FLEET_UID = "homevitals-fleet"
INGEST_UID = "homevitals-ingest"

# Every SQL query reads only schema grafana: the read-only role sees nothing else.
TEAM_QUERY = "SELECT DISTINCT care_team FROM grafana.citizens WHERE active ORDER BY 1"
# __text/__value: Grafana shows the label and puts the id in ${citizen}. Two citizens can
# share a label ("Karen H."), so the text carries the internal number as well.
CITIZEN_QUERY = """
SELECT citizen_id AS __value, label || ' (' || citizen_id || ')' AS __text
FROM grafana.citizens
WHERE active AND care_team IN (${team})
ORDER BY label, citizen_id
"""
# ${citizen} is single-valued, so Grafana's SQL data source inserts it unquoted with any
# quote doubled: inside '...' it can only ever be a string literal, never SQL.
CITIZEN = "NULLIF('${citizen}', '')::bigint"

# The web app (web/, served by the API under /app), where staff act on what Grafana shows.
# A constant variable, so the committed JSON is the same everywhere: its default is the
# address of the API in docker-compose and the native demo; `homevitals dashboards sync`
# writes DASHBOARDS_WEB_URL into it (with_web_url) for any other deployment.
WEB_VARIABLE = "web"
DEFAULT_WEB_URL = "http://localhost:8000/app"
WEB = f"${{{WEB_VARIABLE}}}"
WEB_CITIZEN_LINK = f"{WEB}/borger/${{__data.fields.citizen_id}}"
WEB_ALERT_LINK = f"{WEB}/alarmer?borger=${{__data.fields.citizen_id}}#alert-${{__data.fields.alert_id}}"
WEB_CITIZEN_DASHBOARD_LINK = f"{WEB}/borger/${{citizen}}"

CITIZEN_LINK = (
    f"/d/{CITIZEN_DETAIL_UID}?var-team=${{__data.fields.care_team:percentencode}}"
    "&var-citizen=${__data.fields.citizen_id}&${__url_time_range}"
)


def skeleton(lang: Lang, uid: str, key: str, *, time_from: str, refresh: str) -> builders.Dashboard:
    builder = (
        builders.Dashboard(tr(lang, f"{key}.title"))
        .uid(uid)
        .description(tr(lang, f"{key}.description"))
        .tags(TAGS)
        .timezone("browser")
        .time(time_from, "now")
        .refresh(refresh)
        .readonly()  # changed in code, not in the UI: the next sync would undo UI edits
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .annotations([])
        .variables([])
    )
    for other_uid, other_key in (
        (CARE_OVERVIEW_UID, "care"),
        (CITIZEN_DETAIL_UID, "citizen"),
        (FLEET_UID, "fleet"),
        (INGEST_UID, "ingest"),
    ):
        if other_uid != uid:
            builder.link(
                builders.DashboardLink(tr(lang, f"{other_key}.title"))
                .type(model.DashboardLinkType.LINK)
                .url(f"/d/{other_uid}")
                .include_vars(other_key in ("care", "citizen"))
                .keep_time(keep_time=True)
            )
    return builder


def web_variable(lang: Lang) -> builders.ConstantVariable:
    return (
        builders.ConstantVariable(WEB_VARIABLE)
        .label(tr(lang, "var.web.label"))
        .description(tr(lang, "var.web.description"))
        .value(DEFAULT_WEB_URL)
    )


def with_web_url(dashboard: dict[str, Any], url: str) -> dict[str, Any]:
    """A copy of a generated dashboard whose data links point at the web app under ``url``."""
    url = url.rstrip("/")
    variables = [
        {**v, "query": url} if v.get("name") == WEB_VARIABLE and v.get("type") == "constant" else v
        for v in dashboard.get("templating", {}).get("list", [])
    ]
    return {**dashboard, "templating": {**dashboard.get("templating", {}), "list": variables}}


def team_variable(lang: Lang) -> builders.QueryVariable:
    all_text = tr(lang, "var.all")
    return (
        builders.QueryVariable("team")
        .label(tr(lang, "var.team.label"))
        .description(tr(lang, "var.team.description"))
        .datasource(datasource_ref())
        .query(TEAM_QUERY)
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(model.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
        .multi(multi=True)
        .include_all(include_all=True)
        .current(model.VariableOption(selected=True, text=[all_text], value=["$__all"]))
    )


def citizen_variable(lang: Lang) -> builders.QueryVariable:
    return (
        builders.QueryVariable("citizen")
        .label(tr(lang, "var.citizen.label"))
        .description(tr(lang, "var.citizen.description"))
        .datasource(datasource_ref())
        .query(CITIZEN_QUERY.strip())
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(model.VariableSort.DISABLED)  # the query orders by label
        .multi(multi=False)
        .include_all(include_all=False)
    )
