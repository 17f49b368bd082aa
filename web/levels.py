"""A reading's colour against the citizen's thresholds: the ingest rule, reused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.routers.thresholds import ThresholdOut
from homevitals.contract import Kind
from homevitals.contract.kinds import KINDS
from ingest.alerts import ThresholdLevel, Thresholds, threshold_level

# The blood-pressure metrics the citizen page colours and charts (the kind registry's).
BP_METRICS = tuple(metric.name for metric in KINDS[Kind.BLOOD_PRESSURE].alert_metrics)
_RANK = {ThresholdLevel.NORMAL: 0, ThresholdLevel.WARNING: 1, ThresholdLevel.ALERT: 2}


def reading_level(reading: Mapping[str, Any], thresholds: Mapping[str, ThresholdOut]) -> str | None:
    """'alert', 'warning' or 'normal' (worst of the BP metrics); None for implausible or empty."""
    if reading.get("implausible"):
        return None
    levels = []
    for metric in BP_METRICS:
        value, limit = reading.get(metric), thresholds.get(metric)
        if value is None or limit is None:
            continue
        level = threshold_level(
            float(value),
            Thresholds(limit.alert_low, limit.warn_low, limit.warn_high, limit.alert_high),
            value_is_real=True,  # the blood-pressure columns are real, like the thresholds
        )
        if level is not None:
            levels.append(level)
    worst = max(levels, key=_RANK.__getitem__, default=None)
    return None if worst is None else str(worst)
