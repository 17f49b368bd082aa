"""Physiological limits: what decides that a reading is ``implausible`` (docs/ingest.md).

A value outside its range is still stored, with ``implausible = true`` and a reason such as
``systolic_high``; reports and alerts leave it out. The ranges are deliberately wide: they
catch what no living person at home can produce (a misread cuff, a scale reading 0.3 kg, a
thermometer left in the sun), not what is merely alarming, which is the thresholds' job.
The ranges are the kind registry's (``KindInfo.limits`` in homevitals/contract/kinds.py).
"""

from __future__ import annotations

from typing import Final

from homevitals.contract import Kind
from homevitals.contract.kinds import KINDS

# The largest magnitude a PostgreSQL ``real`` column holds; beyond it the canonical column is
# left NULL (the value stays in ``values`` jsonb, flagged implausible).
REAL_MAX: Final = 3.4e38


def implausible_reasons(kind: Kind, values: dict[str, float | int | None]) -> list[str]:
    """Return why these values are implausible (empty when they are plausible).

    Reasons are machine-readable: ``<field>_low`` / ``<field>_high`` for a value outside its
    range, and ``systolic_not_above_diastolic`` for an inverted blood pressure.
    """
    reasons: list[str] = []
    for field, limit in KINDS[kind].limits.items():
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
