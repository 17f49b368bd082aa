"""Grafana's data links into the web app: every one names a real page of web/ with the
fields its panel's SQL selects, and sync points them at the deployment's address."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboards.build import generate
from dashboards.common import DEFAULT_WEB_URL, WEB, WEB_VARIABLE, with_web_url
from dashboards.i18n import LANGUAGES
from web.routers import alerts, citizen, devices, login, me, thresholds, today, unassigned

pytestmark = pytest.mark.unit
ROUTERS = (login, today, citizen, thresholds, alerts, unassigned, devices, me)
FIELD = re.compile(r"\$\{__data\.fields\.([a-z_]+)\}")
TEMPLATES = Path(__file__).resolve().parents[2] / "web/templates"


def links(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(url, the SQL of the panel it sits on, or '' for a dashboard link) of every link."""
    for link in dashboard.get("links", []):
        yield link["url"], ""
    for panel in dashboard.get("panels", []):
        sql = " ".join(t.get("rawSql", "") for t in panel.get("targets", []))
        for override in panel.get("fieldConfig", {}).get("overrides", []):
            for prop in override["properties"]:
                if prop["id"] == "links":
                    for link in prop["value"]:
                        yield link["url"], sql


def web_links() -> list[tuple[str, str, str]]:
    return [
        (f"{lang}/{name}", url, sql)
        for lang in LANGUAGES
        for name, board in generate(lang).items()
        for url, sql in links(board)
        if url.startswith(WEB)
    ]


def web_route(path: str) -> Any:
    for module in ROUTERS:
        for route in module.router.routes:
            if route.path_regex.match(path) and "GET" in route.methods:  # type: ignore[attr-defined]
                return route
    return None


def test_citizen_rows_alerts_and_the_citizen_detail_link_into_the_web_app():
    where = {(board, urlsplit(url).path) for board, url, _ in web_links()}
    for lang in LANGUAGES:
        assert {
            (f"{lang}/care-overview", f"{WEB}/borger/${{__data.fields.citizen_id}}"),
            (f"{lang}/care-overview", f"{WEB}/alarmer"),
            (f"{lang}/citizen-detail", f"{WEB}/borger/${{citizen}}"),
        } <= where


@pytest.mark.parametrize(("board", "url", "sql"), web_links())
def test_each_web_link_is_a_real_page_with_the_fields_its_panel_selects(board, url, sql):
    parts = urlsplit(url.removeprefix(WEB).replace("${citizen}", "17"))
    path = FIELD.sub("17", parts.path)
    route = web_route(path)
    assert route is not None, f"{board}: {url} is no page of the web app"
    for field in FIELD.findall(url):
        assert re.search(rf"\b{field}\b", sql), f"{board}: {url} uses {field}, which its panel does not select"
    accepted = set(inspect.signature(route.endpoint).parameters)
    assert set(parse_qs(parts.query)) <= accepted, f"{board}: {url} sends a parameter the page ignores"
    if parts.fragment:  # the anchor the page gives each alert card
        anchor = FIELD.sub("", parts.fragment)
        assert f'id="{anchor}{{{{ a.id }}}}"' in (TEMPLATES / "alerts.html").read_text()


def test_the_committed_default_is_the_demo_and_compose_api_and_sync_rewrites_it():
    board = generate("da")["care-overview"]
    (variable,) = [v for v in board["templating"]["list"] if v["name"] == WEB_VARIABLE]
    assert variable["type"] == "constant" and variable["query"] == DEFAULT_WEB_URL
    moved = with_web_url(board, "https://homevitals.kommune.dk/app/")
    (variable,) = [v for v in moved["templating"]["list"] if v["name"] == WEB_VARIABLE]
    assert variable["query"] == "https://homevitals.kommune.dk/app"
    assert [v for v in moved["templating"]["list"] if v["name"] != WEB_VARIABLE] == [
        v for v in board["templating"]["list"] if v["name"] != WEB_VARIABLE
    ]
    assert generate("da")["care-overview"] == board  # the original is untouched
