"""Plan the simulated homes of the demo: citizens, their monitors and scenario files.

Pure: a seed and a citizen count in, a list of homes out. The scenario dicts follow the
simulator's scenario format (docs/simulator.md); each home gets its own gateway.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

GIVEN_NAMES = (
    "Karen",
    "Jens",
    "Inge",
    "Poul",
    "Birthe",
    "Niels",
    "Kirsten",
    "Henning",
    "Hanne",
    "Ole",
    "Grethe",
    "Erik",
    "Lis",
    "Bent",
    "Ruth",
    "Knud",
    "Else",
    "Svend",
    "Jytte",
    "Arne",
)
FAMILY_NAMES = (
    "Nielsen",
    "Jensen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
)
CARE_TEAMS = ("team-nord", "team-syd", "team-vest")
# The web app's tour (docs/web.md) needs, in the demo nurse's team, one red citizen (the
# first, who is also the demo's citizen login) and readings nobody is assigned: a guest
# who uses the first home's monitor on a user slot of their own.
RED_BASELINE = (166, 98)
GUEST = "guest"


@dataclass(frozen=True)
class DemoCitizen:
    key: str  # stable id inside the demo, e.g. "c03"
    given_name: str
    family_name: str
    cpr: str  # synthetic: day 01-28, month 01-12, year 30-55, serial 9xxx
    care_team: str
    user_slot: int
    baseline_systolic: int
    baseline_diastolic: int


@dataclass(frozen=True)
class DemoHome:
    gateway_id: str
    monitor_address: str
    citizens: tuple[DemoCitizen, ...]
    scale_address: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    guest_slot: int | None = None  # a user slot that measures but belongs to no citizen

    def _schedule(self, slot: int, systolic: int, diastolic: int) -> dict[str, Any]:
        return {
            "device": "bp",
            "user_slot": slot,
            "protocol": "esh_home_bp",
            "days": 3650,
            "baseline": {"systolic": systolic, "diastolic": diastolic, "pulse_rate": 68},
        }

    def scenario(self, *, history_days: int, seed: int) -> dict[str, Any]:
        devices: list[dict[str, Any]] = [
            {
                "id": "bp",
                "kind": "blood_pressure",
                "address": self.monitor_address,
                "serial": f"50{self.monitor_address.replace(':', '')[-5:]}",
                "user_slots": max(1, len(self.citizens), self.guest_slot or 0),
                "battery": 90,
            }
        ]
        citizens: list[dict[str, Any]] = [
            {
                "id": citizen.key,
                "name": f"{citizen.given_name} {citizen.family_name}",
                "schedules": [
                    self._schedule(citizen.user_slot, citizen.baseline_systolic, citizen.baseline_diastolic)
                ],
            }
            for citizen in self.citizens
        ]
        if self.guest_slot is not None:
            guest = self._schedule(self.guest_slot, 124, 78)
            citizens.append({"id": GUEST, "name": "Gæst", "schedules": [guest]})
        return {
            "name": self.gateway_id,
            "description": f"homevitals demo home {self.gateway_id}",
            "seed": seed,
            "timezone": "Europe/Copenhagen",
            "history_days": history_days,
            "devices": devices,
            "citizens": citizens,
        }


def _synthetic_cpr(rng: random.Random, number: int) -> str:
    birth = f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(30, 55):02d}"
    return f"{birth}-9{number:03d}"


def plan_homes(citizen_count: int, seed: int = 2026) -> list[DemoHome]:
    """Spread citizens over homes: mostly couples sharing one two-user monitor, some singles."""
    if citizen_count < 1:
        raise ValueError("the demo needs at least one citizen")
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    homes: list[DemoHome] = []
    number = 0
    remaining = citizen_count
    while remaining > 0:
        size = 2 if remaining >= 2 and rng.random() < 0.6 else 1
        citizens = []
        for slot in range(1, size + 1):
            number += 1
            # A quarter of the citizens have a raised home BP, so the dashboards show colour.
            hypertensive = rng.random() < 0.25
            citizens.append(
                DemoCitizen(
                    key=f"c{number:02d}",
                    given_name=GIVEN_NAMES[(number - 1) % len(GIVEN_NAMES)],
                    family_name=FAMILY_NAMES[rng.randrange(len(FAMILY_NAMES))],
                    cpr=_synthetic_cpr(rng, number),
                    care_team=CARE_TEAMS[len(homes) % len(CARE_TEAMS)],
                    user_slot=slot,
                    baseline_systolic=rng.randint(142, 158) if hypertensive else rng.randint(118, 132),
                    baseline_diastolic=rng.randint(88, 96) if hypertensive else rng.randint(72, 82),
                )
            )
        index = len(homes) + 1
        homes.append(
            DemoHome(
                gateway_id=f"demo-home-{index:02d}",
                monitor_address=f"A4:C1:38:D0:{index // 256:02X}:{index % 256:02X}",
                citizens=tuple(citizens),
            )
        )
        remaining -= size
    first = homes[0]
    red = replace(first.citizens[0], baseline_systolic=RED_BASELINE[0], baseline_diastolic=RED_BASELINE[1])
    homes[0] = replace(first, citizens=(red, *first.citizens[1:]), guest_slot=len(first.citizens) + 1)
    return homes
