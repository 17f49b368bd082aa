"""The codes of the ``alerts`` table that services write and read (migration 0001's CHECKs).

Ingest opens alerts, the API and the web app show and act on them, the dashboards translate
the codes: one enum each, so no service spells them on its own.
"""

from __future__ import annotations

from enum import StrEnum


class AlertType(StrEnum):
    """``alerts.alert_type``: which rule opened the alert."""

    THRESHOLD = "threshold"  # a reading breached the citizen's thresholds
    MISSING_MEASUREMENTS = "missing_measurements"  # a citizen has gone quiet


class AlertLevel(StrEnum):
    """``alerts.level``. Also the non-normal answers of ``grafana.threshold_level``."""

    WARNING = "warning"
    ALERT = "alert"
