"""Grænseværdier: a citizen's thresholds beside the care-plan default, with validation and history."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.db import Database
from api.pagination import IdPath
from api.routers.citizens import get_citizen
from api.routers.thresholds import ThresholdIn, ThresholdsIn, get_thresholds, put_thresholds
from web.context import FormPageDep, Page, PageDep, render

router = APIRouter()
FIELDS = ("alert_low", "warn_low", "warn_high", "alert_high")
HISTORY_SHOWN = 30
VALUE_LIMIT = 1_000_000  # the API's Limit bounds, said in words when a value is outside them


def order_problem(numbers: dict[str, float]) -> tuple[str, str] | None:
    """The first pair of neighbouring fields that does not rise, or None."""
    return next(((low, high) for low, high in pairwise(FIELDS) if not numbers[low] < numbers[high]), None)


async def defaults_and_history(database: Database, citizen_id: int) -> tuple[dict[str, Any], list[Any]]:
    """The care-plan defaults and the citizen's threshold history (migration 0005).

    Call only after the API's threshold read has authorized (and audited) this citizen."""
    async with database.transaction() as conn:
        defaults = {
            r["metric"]: r for r in await (await conn.execute("SELECT * FROM default_thresholds")).fetchall()
        }
        history = await (
            await conn.execute(
                "SELECT metric, change, alert_low, warn_low, warn_high, alert_high, changed_by, changed_at "
                "FROM threshold_history WHERE citizen_id = %s ORDER BY changed_at DESC, id DESC LIMIT %s",
                (citizen_id, HISTORY_SHOWN),
            )
        ).fetchall()
    return defaults, history


async def _form(
    page: Page,
    citizen_id: int,
    *,
    values: dict[str, dict[str, str]] | None = None,
    errors: list[str] | None = None,
    invalid: set[str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    citizen = await get_citizen(citizen_id, page.caller, page.database)
    current = await get_thresholds(citizen_id, page.caller, page.database)
    defaults, history = await defaults_and_history(page.database, citizen_id)
    shown = values or {t.metric: {f: f"{getattr(t, f):g}" for f in FIELDS} for t in current.thresholds}
    return render(
        page.request,
        "thresholds.html",
        page=page,
        status_code=status_code,
        citizen=citizen,
        thresholds=current.thresholds,
        defaults=defaults,
        history=history,
        values=shown,
        errors=errors or [],
        invalid=invalid or set(),
        saved=saved,
        fields=FIELDS,
    )


@router.get("/borger/{citizen_id}/graensevaerdier", response_class=HTMLResponse)
async def thresholds_page(citizen_id: IdPath, page: PageDep, saved: int = 0) -> HTMLResponse:
    return await _form(page, citizen_id, saved=bool(saved))


async def _submitted(request: Request) -> dict[str, dict[str, str]]:
    form = await request.form()
    values: dict[str, dict[str, str]] = {}
    for key, value in form.items():
        metric, _, name = key.partition(".")
        if name in FIELDS and isinstance(value, str):
            values.setdefault(metric, {})[name] = value.strip().replace(",", ".")
    return values


@router.post("/borger/{citizen_id}/graensevaerdier")
async def save_thresholds(citizen_id: IdPath, page: FormPageDep) -> Response:
    values = await _submitted(page.request)
    async with page.database.transaction() as conn:
        defaults = {
            r["metric"]: r for r in await (await conn.execute("SELECT * FROM default_thresholds")).fetchall()
        }
    personal: list[ThresholdIn] = []
    errors: list[str] = []
    invalid: set[str] = set()  # "metric.field" of each input to mark aria-invalid
    for metric, fields in values.items():
        label = page.t(f"metric.{metric}") if metric in defaults else metric
        numbers: dict[str, float] = {}
        for f in FIELDS:
            try:
                numbers[f] = float(fields.get(f, ""))
            except ValueError:
                invalid.add(f"{metric}.{f}")
        if len(numbers) < len(FIELDS):
            errors.append(page.t("thresholds.number", metric=label))
            continue
        if pair := order_problem(numbers):
            low, high = pair
            invalid.update({f"{metric}.{low}", f"{metric}.{high}"})
            errors.append(
                page.t(
                    "thresholds.pair",
                    metric=label,
                    low=page.t(f"col.{low}").lower(),
                    low_value=f"{numbers[low]:g}",
                    high=page.t(f"col.{high}").lower(),
                    high_value=f"{numbers[high]:g}",
                )
            )
            continue
        default = defaults.get(metric)
        if default is not None and all(abs(numbers[f] - float(default[f])) < 1e-9 for f in FIELDS):
            continue  # equal to the care plan: the default applies (and follows its changes)
        try:
            personal.append(ThresholdIn(metric=metric, **numbers))
        except ValidationError:  # ordered, so a value is outside the API's bounds
            invalid.update(f"{metric}.{f}" for f in FIELDS if abs(numbers[f]) > VALUE_LIMIT)
            limit = f"{VALUE_LIMIT:,}".replace(",", ".")  # Danish thousands separator
            errors.append(page.t("thresholds.range", metric=label, limit=limit))
    if errors:
        return await _form(page, citizen_id, values=values, errors=errors, invalid=invalid, status_code=422)
    await put_thresholds(citizen_id, ThresholdsIn(thresholds=personal), page.caller, page.database)
    root = page.request.scope.get("root_path", "")
    return RedirectResponse(f"{root}/borger/{citizen_id}/graensevaerdier?saved=1", status_code=303)
