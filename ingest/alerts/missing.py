"""The missing-measurements rule: a citizen who has gone quiet gets one warning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import psycopg

from database.alerts import AlertLevel, AlertType
from ingest.alerts.rule import AlertRule, OpenedAlert, RuleSchedule, StoredReading

MISSING_METRIC: Final = "measurements"

# Citizens with an assignment active now, assigned devices for at least `days` days, and no
# plausible reading in the last `days` days. The partial unique index keeps it to one
# unresolved alert each, so several workers running the job at once is harmless.
_MISSING_SQL = """
INSERT INTO alerts (citizen_id, alert_type, metric, level, measured_at, message)
SELECT q.id, %(alert_type)s, %(metric)s, %(level)s, q.last_at,
       format('no measurement for %%s days (last: %%s)', %(days)s,
              coalesce(to_char(q.last_at AT TIME ZONE q.timezone, 'YYYY-MM-DD HH24:MI'), 'never'))
FROM (
  SELECT c.id, c.timezone,
         (SELECT max(r.measured_at) FROM readings r
          WHERE r.citizen_id = c.id AND r.measured_at <= now()) AS last_at
  FROM citizens c
  WHERE c.active
    AND EXISTS (SELECT 1 FROM device_assignments a WHERE a.citizen_id = c.id AND a.valid @> now())
    AND (SELECT min(lower(a.valid)) FROM device_assignments a WHERE a.citizen_id = c.id)
        <= now() - make_interval(days => %(days)s)
    AND NOT EXISTS (
      SELECT 1 FROM readings r
      WHERE r.citizen_id = c.id AND NOT r.implausible
        AND r.measured_at > now() - make_interval(days => %(days)s) AND r.measured_at <= now())
) q
ORDER BY q.id
ON CONFLICT (citizen_id, metric, level) WHERE state <> 'resolved' DO NOTHING
RETURNING citizen_id
"""


@dataclass(frozen=True, slots=True)
class MissingMeasurementsRule(AlertRule):
    """Periodic: no plausible reading for ``days`` days opens a warning (INGEST_MISSING_MEASUREMENT_DAYS)."""

    days: int
    alert_type: ClassVar[AlertType] = AlertType.MISSING_MEASUREMENTS
    schedule: ClassVar[RuleSchedule] = RuleSchedule.PERIODIC
    level: ClassVar[AlertLevel] = AlertLevel.WARNING

    def open_alerts(
        self, conn: psycopg.Connection[Any], readings: Sequence[StoredReading] = ()  # noqa: ARG002 - periodic
    ) -> list[OpenedAlert]:
        rows = conn.execute(
            _MISSING_SQL,
            {"alert_type": str(self.alert_type), "metric": MISSING_METRIC, "level": str(self.level),
             "days": self.days},
        ).fetchall()
        return [OpenedAlert(self.alert_type, self.level, int(row[0])) for row in rows]
