"""Grænseværdier over HTTP: the care-plan default beside each metric, validation in Danish that
names the wrong pair, nothing saved on an error, and the history of what was changed."""

from __future__ import annotations

import re

import httpx
import psycopg
import pytest
from web_http import csrf_of, dev_login

from web.routers.thresholds import order_problem

FORM = {
    "systolic": ("90", "100", "140", "160"),
    "diastolic": ("50", "60", "90", "100"),
    "pulse_rate": ("40", "50", "100", "120"),
}


def form(**changes: tuple[str, str, str, str]) -> dict[str, str]:
    fields = ("alert_low", "warn_low", "warn_high", "alert_high")
    return {f"{m}.{f}": v for m, values in {**FORM, **changes}.items() for f, v in zip(fields, values, strict=True)}


@pytest.fixture
def nurse(web_server):
    with httpx.Client(base_url=web_server.base_url, timeout=20) as http:
        dev_login(http, "nurse.nord")
        yield http


def post(http: httpx.Client, citizen: int, data: dict[str, str]) -> httpx.Response:
    path = f"/app/borger/{citizen}/graensevaerdier"
    return http.post(path, data={**data, "csrf_token": csrf_of(http.get(path).text)})


def personal(dsn: str, citizen: int) -> list[tuple[str, float]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT metric, warn_high FROM thresholds WHERE citizen_id = %s ORDER BY metric", (citizen,)
        ).fetchall()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ((80, 95, 150, 175), None),
        ((95, 95, 150, 175), ("alert_low", "warn_low")),
        ((80, 95, 180, 175), ("warn_high", "alert_high")),
        ((80, 160, 150, 175), ("warn_low", "warn_high")),
    ],
)
def test_order_problem_names_the_first_pair_that_does_not_rise(values, problem):
    assert order_problem(dict(zip(("alert_low", "warn_low", "warn_high", "alert_high"), values, strict=True))) == problem


def test_the_page_shows_the_care_plan_default_beside_each_metric(nurse, web_db):
    dsn, _, s = web_db
    with psycopg.connect(dsn) as conn:
        defaults = conn.execute("SELECT metric, alert_low, warn_low, warn_high, alert_high FROM default_thresholds").fetchall()
    page = nurse.get(f"/app/borger/{s.bo}/graensevaerdier").text
    for metric, *values in defaults:
        row = re.search(rf'<tr data-metric="{metric}">.*?</tr>', page, re.S)
        if row is None:  # the page lists the metrics the citizen has thresholds for
            continue
        assert " / ".join(f"{v:g}" for v in values) in row.group(0), metric


def test_errors_name_the_field_say_the_rule_and_save_nothing(nurse, web_db):
    dsn, _, s = web_db
    before = personal(dsn, s.bo)
    wrong_order = post(nurse, s.bo, form(diastolic=("50", "60", "105", "100")))
    assert wrong_order.status_code == 422
    assert "Diastolisk blodtryk (mmHg): gul høj (105) skal være mindre end rød høj (100)." in wrong_order.text
    assert wrong_order.text.count('aria-invalid="true"') == 2
    assert 'value="105"' in wrong_order.text  # what the nurse typed is kept for correcting
    not_a_number = post(nurse, s.bo, form(pulse_rate=("40", "halvtreds", "100", "120")))
    assert not_a_number.status_code == 422 and "skriv tal i alle fire felter" in not_a_number.text
    too_big = post(nurse, s.bo, form(systolic=("90", "100", "140", "1e9")))
    assert too_big.status_code == 422 and "uden for det mulige" in too_big.text
    assert personal(dsn, s.bo) == before


def test_a_saved_change_appears_in_the_history_with_who_made_it(nurse, web_db):
    dsn, _, s = web_db
    with psycopg.connect(dsn) as conn:
        defaults = {
            m: tuple(f"{v:g}" for v in values)
            for m, *values in conn.execute(
                "SELECT metric, alert_low, warn_low, warn_high, alert_high FROM default_thresholds "
                "WHERE metric IN ('systolic', 'diastolic', 'pulse_rate')"
            )
        }
    alert_low, warn_low, _, alert_high = defaults["systolic"]
    response = post(nurse, s.dora, form(**{**defaults, "systolic": (alert_low, warn_low, "150", alert_high)}))
    assert response.status_code == 303 and response.headers["location"].endswith("?saved=1")
    assert personal(dsn, s.dora) == [("systolic", 150.0)]  # the rest equal the default: not personal
    page = nurse.get(f"/app/borger/{s.dora}/graensevaerdier").text
    history = re.search(r'<table class="compact history">.*?</table>', page, re.S)
    assert history and "nurse.nord" in history.group(0) and ">150<" in history.group(0)


def test_a_clinician_sees_the_thresholds_read_only_and_cannot_post_them(web_server, web_db):
    dsn, _, s = web_db
    before = personal(dsn, s.carl)
    with httpx.Client(base_url=web_server.base_url, timeout=20) as http:
        dev_login(http, "dr.hansen")
        page = http.get(f"/app/borger/{s.carl}/graensevaerdier")  # any team: a clinician reads all
        assert page.status_code == 200 and "borgerens plejegruppe ændrer dem" in page.text
        assert "Gem grænseværdier" not in page.text and page.text.count(" readonly") >= 12
        response = http.post(
            f"/app/borger/{s.carl}/graensevaerdier", data={**form(), "csrf_token": csrf_of(page.text)}
        )
        assert response.status_code == 403
    assert personal(dsn, s.carl) == before
