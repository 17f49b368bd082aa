"""A reading's colour against the citizen's thresholds: the ingest rule, reused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.routers.thresholds import ThresholdOut
from ingest.alerts import Thresholds, classify

BP_METRICS = ("systolic", "diastolic", "pulse_rate")
_RANK = {"normal": 0, "warning": 1, "alert": 2}


def reading_level(reading: Mapping[str, Any], thresholds: Mapping[str, ThresholdOut]) -> str | None:
    """'alert', 'warning' or 'normal' (worst of the BP metrics); None for implausible or empty."""
    if reading.get("implausible"):
        return None
    levels = []
    for metric in BP_METRICS:
        value, limit = reading.get(metric), thresholds.get(metric)
        if value is None or limit is None:
            continue
        breach = classify(
            float(value), Thresholds(limit.alert_low, limit.warn_low, limit.warn_high, limit.alert_high)
        )
        levels.append(breach.level.value if breach else "normal")
    return max(levels, key=_RANK.__getitem__, default=None)
