"""Small helpers over grafana-foundation-sdk shared by the four dashboards.

Panels are placed by the SDK's own grid flow (``span``/``height``, left to right, wrapping
at 24 columns); :class:`Board` numbers them in order and gives every panel the one data
source. Column names in SQL stay English; :func:`columns` renames them per language.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

from dashboards.i18n import LOW_BATTERY_PERCENT, Lang, tr
from dashboards.sqlquery import datasource_ref

GREEN, YELLOW, RED, GREY, BLUE = "green", "yellow", "red", "text", "blue"

class _Overridable(Protocol):
    def override_by_name(self, name: str, properties: list[model.DynamicConfigValue]) -> Self: ...


PanelBuilder = TypeVar("PanelBuilder", bound=_Overridable)

LEVEL_COLOURS = {"alert": RED, "warning": YELLOW, "normal": GREEN}
GATEWAY_COLOURS = {"online": GREEN, "offline": RED, "unknown": YELLOW}


class Board:
    """A dashboard under construction: numbered, positioned panels on one data source."""

    def __init__(self, builder: builders.Dashboard) -> None:
        self._builder = builder
        self._next_id = 1

    def add(self, panel: Any, *, w: int, h: int) -> None:
        panel.id(self._next_id).span(w).height(h).datasource(datasource_ref())
        self._next_id += 1
        self._builder.with_panel(panel)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (dicts and lists), exactly what Grafana stores."""
        encoded: dict[str, Any] = json.loads(json.dumps(self._builder.build(), cls=JSONEncoder))
        return encoded


def value_mappings(lang: Lang, group: str, colours: Mapping[str, str]) -> model.ValueMap:
    """Codes from the database (``alert``, ``offline`` ...) shown as words with a colour."""
    options = {
        code: model.ValueMappingResult(text=tr(lang, f"map.{group}.{code}"), color=colour, index=index)
        for index, (code, colour) in enumerate(colours.items())
    }
    return model.ValueMap(options=options)


def null_mapping(lang: Lang, key: str, colour: str = GREY) -> model.SpecialValueMap:
    result = model.ValueMappingResult(text=tr(lang, key), color=colour, index=99)
    return model.SpecialValueMap(
        options=model.DashboardSpecialValueMapOptions(match=model.SpecialValueMatch.NULL, result=result)
    )


def bool_mappings(lang: Lang, true_colour: str = YELLOW) -> list[model.ValueMapping]:
    """Status flags: "Ja" stands out in colour, "Nej" stays quiet."""
    return [
        model.SpecialValueMap(
            options=model.DashboardSpecialValueMapOptions(
                match=model.SpecialValueMatch.TRUE,
                result=model.ValueMappingResult(text=tr(lang, "map.bool.true"), color=true_colour, index=0),
            )
        ),
        model.SpecialValueMap(
            options=model.DashboardSpecialValueMapOptions(
                match=model.SpecialValueMatch.FALSE,
                result=model.ValueMappingResult(text=tr(lang, "map.bool.false"), color=GREY, index=1),
            )
        ),
    ]


def level_mappings(lang: Lang) -> list[model.ValueMapping]:
    return [value_mappings(lang, "level", LEVEL_COLOURS), null_mapping(lang, "map.level.none")]


def gateway_mappings(lang: Lang) -> list[model.ValueMapping]:
    return [value_mappings(lang, "gateway", GATEWAY_COLOURS), null_mapping(lang, "map.gateway.none")]


def steps(base: str, *limits: tuple[float, str]) -> builders.ThresholdsConfig:
    """Absolute thresholds: ``steps(GREEN, (1, RED))`` is green below 1, red from 1."""
    items = [model.Threshold(value=None, color=base)]
    items += [model.Threshold(value=value, color=colour) for value, colour in limits]
    return builders.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(items)


def battery_steps() -> builders.ThresholdsConfig:
    """Red below the low-battery limit, yellow up to twice that, green above."""
    return steps(RED, (LOW_BATTERY_PERCENT, YELLOW), (2 * LOW_BATTERY_PERCENT, GREEN))


def prop(prop_id: str, value: object) -> model.DynamicConfigValue:
    return model.DynamicConfigValue(id_val=prop_id, value=value)


def fixed_colour(colour: str) -> model.DynamicConfigValue:
    return prop("color", {"mode": "fixed", "fixedColor": colour})


def colour_background() -> model.DynamicConfigValue:
    return prop("custom.cellOptions", {"type": "color-background", "mode": "basic"})


def colour_text() -> model.DynamicConfigValue:
    return prop("custom.cellOptions", {"type": "color-text"})


def hidden() -> model.DynamicConfigValue:
    return prop("custom.hidden", value=True)


def mappings(items: Sequence[model.ValueMapping]) -> model.DynamicConfigValue:
    return prop("mappings", list(items))


def thresholds(config: builders.ThresholdsConfig) -> model.DynamicConfigValue:
    return prop("thresholds", config.build())


def unit(value: str) -> model.DynamicConfigValue:
    return prop("unit", value)


def link(title: str, url: str, *more: tuple[str, str]) -> model.DynamicConfigValue:
    """A cell's data links: one opens at a click, several as a menu (title, URL each)."""
    return prop("links", [{"title": t, "url": u} for t, u in ((title, url), *more)])


def columns(
    panel: PanelBuilder,
    lang: Lang,
    names: Iterable[str],
    extra: Mapping[str, Sequence[model.DynamicConfigValue]] | None = None,
) -> PanelBuilder:
    """Give each named column (or series) its translated display name, plus extra props."""
    extra = extra or {}
    names = list(names)
    for name in names:
        panel.override_by_name(name, [prop("displayName", tr(lang, f"col.{name}")), *extra.get(name, ())])
    for name, more in extra.items():
        if name not in names:
            panel.override_by_name(name, list(more))
    return panel
