"""Scenario files and the measurement schedules they produce (pure, no radio)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simulator.errors import ScenarioError
from simulator.model import DeviceKind, FaultKind
from simulator.runner import FaultPicker
from simulator.scenario import Scenario, load_scenario, parse_scenario
from simulator.schedule import plan_measurements, plan_stored_records

pytestmark = pytest.mark.unit

SCENARIOS = Path(__file__).resolve().parents[2] / "simulator" / "scenarios"
CPH = ZoneInfo("Europe/Copenhagen")
# Monday 23 November 2026, 05:00 in Copenhagen: before the first session of the day.
START = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def bp_household(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "seed": 3,
        "devices": [{"id": "bp", "kind": "blood_pressure", "address": "a4:c1:38:00:11:22",
                     "user_slots": 2}],
        "citizens": [
            {"id": "anna", "schedules": [{"device": "bp", "user_slot": 1,
                                          "protocol": "esh_home_bp",
                                          "baseline": {"systolic": 150, "diastolic": 95}}]},
            {"id": "bent", "schedules": [{"device": "bp", "user_slot": 2,
                                          "protocol": "esh_home_bp"}]},
        ],
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("name", ["single-bp", "household", "all-devices"])
def test_shipped_scenarios_load(name: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    assert scenario.name == name
    assert plan_measurements(scenario, START)


def test_single_bp_scenario_has_one_monitor_one_user_and_five_stored_records() -> None:
    scenario = load_scenario(SCENARIOS / "single-bp.yaml")
    (device,) = scenario.devices
    assert device.kind is DeviceKind.BLOOD_PRESSURE and device.backlog == 5
    assert len(scenario.citizens) == 1
    stored = plan_stored_records(scenario, START)
    assert len(stored["bp-1"]) == 5
    assert all(p.at < START for p in stored["bp-1"])


def test_household_scenario_shares_a_monitor_and_has_the_faults_it_promises() -> None:
    scenario = load_scenario(SCENARIOS / "household.yaml")
    kinds = {d.id: d.kind for d in scenario.devices}
    assert kinds == {"bp-shared": DeviceKind.BLOOD_PRESSURE, "scale": DeviceKind.WEIGHT_SCALE}
    bp = scenario.device("bp-shared")
    slots = {s.user_slot for c in scenario.citizens for s in c.schedules if s.device == bp.id}
    assert slots == {1, 2}
    assert bp.clock.offset_seconds != 0  # a wrong device clock
    plan = [p for p in plan_measurements(scenario, START) if p.device == "bp-shared"]
    picker = FaultPicker(scenario)
    faults = [picker.next_fault("bp-shared") for _ in plan]
    assert faults.count(FaultKind.NAN) == 1  # one failed measurement


def test_esh_protocol_two_readings_morning_and_evening_for_seven_days() -> None:
    scenario = parse_scenario(bp_household())
    plan = plan_measurements(scenario, START)
    anna = [p for p in plan if p.citizen == "anna"]
    assert len(anna) == 7 * 2 * 2
    sessions = Counter((p.at.astimezone(CPH).date(), p.session) for p in anna)
    assert set(sessions.values()) == {2}
    assert {s for _, s in sessions} == {"morning", "evening"}
    firsts = [p for p in anna if p.reading == 0]
    seconds = [p for p in anna if p.reading == 1]
    assert all(b.at - a.at == timedelta(seconds=60) for a, b in zip(firsts, seconds, strict=True))
    assert anna[0].at.astimezone(CPH).date() == START.astimezone(CPH).date()
    assert all(p.user_slot == 1 for p in anna)


def test_values_are_realistic_per_citizen_and_vary_from_day_to_day() -> None:
    plan = plan_measurements(parse_scenario(bp_household()), START)
    anna = [p.values["systolic"] for p in plan if p.citizen == "anna"]
    bent = [p.values["systolic"] for p in plan if p.citizen == "bent"]
    assert 138 < sum(anna) / len(anna) < 162  # baseline 150
    assert 123 < sum(bent) / len(bent) < 147  # default 135
    assert all(90 <= v <= 200 for v in anna + bent)
    assert len(set(anna)) > 5
    assert all(float(v).is_integer() for v in anna)


def test_schedules_are_deterministic_per_seed() -> None:
    first = plan_measurements(parse_scenario(bp_household()), START)
    again = plan_measurements(parse_scenario(bp_household()), START)
    other = plan_measurements(parse_scenario(bp_household(seed=4)), START)
    assert [(p.at, p.values) for p in first] == [(p.at, p.values) for p in again]
    assert [p.values for p in first] != [p.values for p in other]


def test_sessions_already_past_move_the_protocol_to_the_next_day() -> None:
    afternoon = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    plan = plan_measurements(parse_scenario(bp_household()), afternoon)
    assert plan[0].at.astimezone(CPH).date() == datetime(2026, 11, 24).date()
    assert all(p.at >= afternoon for p in plan)


def test_history_days_preload_past_records() -> None:
    scenario = parse_scenario(bp_household(history_days=3))
    stored = plan_stored_records(scenario, START)["bp"]
    assert len(stored) == 3 * 2 * 2 * 2  # 3 days, 2 sessions, 2 readings, 2 citizens
    assert all(START - timedelta(days=3) <= p.at < START for p in stored)
    assert stored == sorted(stored, key=lambda p: p.at)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["devices"][0].update(address="not-an-address"), "devices.0.address"),
        (lambda d: d["citizens"][0]["schedules"][0].update(device="nope"), "no device with id"),
        (lambda d: d["citizens"][1]["schedules"][0].update(user_slot=1), "already belongs to"),
        (lambda d: d["citizens"][0]["schedules"][0].update(user_slot=3), "2 user slot"),
        (lambda d: d["citizens"][0]["schedules"][0].update(baseline={"weight": 80}),
         "takes diastolic"),
        (lambda d: d["devices"][0].update(faults=[{"kind": "smoke"}]), "devices.0.faults.0.kind"),
        (lambda d: d.update(timezone="Mars/Olympus"), "unknown time zone"),
        (lambda d: d.update(start="2026-11-23T06:00:00"), "UTC offset"),
        (lambda d: d["devices"][0].update(colour="red"), "Extra inputs"),
    ],
)
def test_invalid_scenarios_say_what_is_wrong(change: Any, message: str) -> None:
    data = bp_household()
    change(data)
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(data)


def test_load_scenario_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("devices: [\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(broken)
    broken.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="mapping"):
        load_scenario(broken)


def test_kpa_is_an_alias_of_the_alternative_unit_fault() -> None:
    data = bp_household()
    data["devices"][0]["faults"] = [{"kind": "kpa", "on_measurements": [2]}]
    scenario: Scenario = parse_scenario(data)
    picker = FaultPicker(scenario)
    assert [picker.next_fault("bp") for _ in range(3)] == [None, FaultKind.ALT_UNIT, None]
