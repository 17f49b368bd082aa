"""Physiological limits: the one table that decides what is ``implausible`` (docs/ingest.md).

A value outside its range is still stored, with ``implausible = true`` and a reason such as
``systolic_high``; reports and alerts leave it out. The ranges are deliberately wide: they
catch what no living person at home can produce (a misread cuff, a scale reading 0.3 kg, a
thermometer left in the sun), not what is merely alarming, which is the thresholds' job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from homevitals.contract import Kind


@dataclass(frozen=True, slots=True)
class Limit:
    low: float
    high: float
    unit: str
    why: str


# kind -> field of ``values`` -> inclusive plausible range.
PHYSIOLOGICAL_LIMITS: Final[dict[Kind, dict[str, Limit]]] = {
    Kind.BLOOD_PRESSURE: {
        "systolic": Limit(40, 300, "mmHg", "oscillometric cuffs measure about 40-280; beyond is artefact"),
        "diastolic": Limit(20, 200, "mmHg", "below 20 or above 200 is cuff or decoding error"),
        "mean_arterial_pressure": Limit(30, 250, "mmHg", "follows from the systolic/diastolic limits"),
        "pulse_rate": Limit(20, 250, "/min", "outside 20-250 no home monitor reads reliably"),
    },
    Kind.WEIGHT: {
        "weight": Limit(2, 400, "kg", "bathroom scales; 2 kg allows an infant, 400 kg any adult"),
        "bmi": Limit(8, 150, "kg/m2", "below 8 or above 150 is not compatible with life"),
        "height": Limit(0.3, 2.8, "m", "the tallest recorded person was 2.72 m"),
    },
    Kind.GLUCOSE: {
        "glucose": Limit(0.5, 50, "mmol/L", "meters read about 0.6-33.3; beyond is sensor error"),
    },
    Kind.TEMPERATURE: {
        "temperature": Limit(25, 45, "Cel", "body temperature outside 25-45 degC is a misplaced probe"),
    },
    Kind.PULSE_OXIMETRY: {
        "spo2": Limit(50, 100, "%", "saturation cannot exceed 100; below 50 oximeters are not calibrated"),
        "pulse_rate": Limit(20, 250, "/min", "as for blood pressure monitors"),
    },
}

# The largest magnitude a PostgreSQL ``real`` column holds; beyond it the canonical column is
# left NULL (the value stays in ``values`` jsonb, flagged implausible).
REAL_MAX: Final = 3.4e38


def implausible_reasons(kind: Kind, values: dict[str, float | int | None]) -> list[str]:
    """Return why these values are implausible (empty when they are plausible).

    Reasons are machine-readable: ``<field>_low`` / ``<field>_high`` for a value outside its
    range, and ``systolic_not_above_diastolic`` for an inverted blood pressure.
    """
    reasons: list[str] = []
    for field, limit in PHYSIOLOGICAL_LIMITS[kind].items():
        value = values.get(field)
        if value is None:
            continue
        if value < limit.low:
            reasons.append(f"{field}_low")
        elif value > limit.high:
            reasons.append(f"{field}_high")
    if kind is Kind.BLOOD_PRESSURE:
        systolic, diastolic = values.get("systolic"), values.get("diastolic")
        if systolic is not None and diastolic is not None and systolic <= diastolic:
            reasons.append("systolic_not_above_diastolic")
    return reasons
