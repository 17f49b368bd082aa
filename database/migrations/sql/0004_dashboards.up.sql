-- Schema additions owned by the dashboards service (docs/dashboards.md).
--
-- Views in schema grafana that the provisioned dashboards read through the read-only role
-- homevitals_grafana. Like 0001's views they carry no CPR number, family name, birth date,
-- raw bytes or payloads: a citizen is the pseudonymous label "Karen H." from
-- grafana.citizens and a numeric citizen_id.

-- Threshold levels ------------------------------------------------------------------------
-- A value's level against alert_low < warn_low < warn_high < alert_high. Upper limits count
-- from the limit itself (ESH: home BP >= 135/85 is raised), lower limits below it
-- (hypotension is < 90), so 135 is 'warning' and 90 is still 'warning', not 'alert'.
CREATE FUNCTION grafana.threshold_level(
  v double precision, alert_low real, warn_low real, warn_high real, alert_high real
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN v IS NULL OR alert_low IS NULL THEN NULL
    WHEN v < alert_low OR v >= alert_high THEN 'alert'
    WHEN v < warn_low OR v >= warn_high THEN 'warning'
    ELSE 'normal'
  END
$$;

-- 0 normal, 1 warning, 2 alert: sorts citizens worst first and picks the worst of levels.
CREATE FUNCTION grafana.level_rank(level text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE level WHEN 'normal' THEN 0 WHEN 'warning' THEN 1 WHEN 'alert' THEN 2 END
$$;

CREATE FUNCTION grafana.worst_level(VARIADIC levels text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT l FROM unnest(levels) AS l WHERE l IS NOT NULL
  ORDER BY grafana.level_rank(l) DESC LIMIT 1
$$;

-- A citizen's blood-pressure thresholds in one row (their own where set, else the defaults).
CREATE VIEW grafana.bp_thresholds AS
SELECT citizen_id,
       max(alert_low)  FILTER (WHERE metric = 'systolic')   AS sys_alert_low,
       max(warn_low)   FILTER (WHERE metric = 'systolic')   AS sys_warn_low,
       max(warn_high)  FILTER (WHERE metric = 'systolic')   AS sys_warn_high,
       max(alert_high) FILTER (WHERE metric = 'systolic')   AS sys_alert_high,
       max(alert_low)  FILTER (WHERE metric = 'diastolic')  AS dia_alert_low,
       max(warn_low)   FILTER (WHERE metric = 'diastolic')  AS dia_warn_low,
       max(warn_high)  FILTER (WHERE metric = 'diastolic')  AS dia_warn_high,
       max(alert_high) FILTER (WHERE metric = 'diastolic')  AS dia_alert_high,
       max(alert_low)  FILTER (WHERE metric = 'pulse_rate') AS pulse_alert_low,
       max(warn_low)   FILTER (WHERE metric = 'pulse_rate') AS pulse_warn_low,
       max(warn_high)  FILTER (WHERE metric = 'pulse_rate') AS pulse_warn_high,
       max(alert_high) FILTER (WHERE metric = 'pulse_rate') AS pulse_alert_high
FROM effective_thresholds
WHERE metric IN ('systolic', 'diastolic', 'pulse_rate')
GROUP BY citizen_id;

-- Blood-pressure readings of assigned citizens -------------------------------------------
-- With the status flags unpacked, the home-BP session and local date in the citizen's own
-- timezone, and the level of each value. Implausible readings stay visible (flagged) but
-- get no level: they are left out of means and colours.
CREATE VIEW grafana.bp_readings AS
SELECT r.measured_at, r.reading_id, r.citizen_id, r.device_id, r.gateway_id, r.time_source,
       r.received_at,
       r.systolic, r.diastolic, r.mean_arterial_pressure, r.pulse_rate,
       coalesce((r.status ->> 'body_movement')::boolean, false)     AS body_movement,
       coalesce((r.status ->> 'irregular_pulse')::boolean, false)   AS irregular_pulse,
       coalesce((r.status ->> 'cuff_fit_loose')::boolean, false)    AS cuff_fit_loose,
       coalesce((r.status ->> 'improper_position')::boolean, false) AS improper_position,
       r.status ->> 'pulse_rate_range'                              AS pulse_rate_range,
       r.implausible, r.implausible_reasons, r.clock_in_future,
       bp_session(r.measured_at, c.timezone)                        AS session,
       (r.measured_at AT TIME ZONE c.timezone)::date                AS local_date,
       lv.systolic_level, lv.diastolic_level, lv.pulse_level,
       grafana.worst_level(lv.systolic_level, lv.diastolic_level, lv.pulse_level) AS level
FROM readings r
JOIN citizens c ON c.id = r.citizen_id
LEFT JOIN grafana.bp_thresholds t ON t.citizen_id = r.citizen_id
CROSS JOIN LATERAL (
  SELECT
    CASE WHEN NOT r.implausible THEN grafana.threshold_level(
      r.systolic, t.sys_alert_low, t.sys_warn_low, t.sys_warn_high, t.sys_alert_high) END
      AS systolic_level,
    CASE WHEN NOT r.implausible THEN grafana.threshold_level(
      r.diastolic, t.dia_alert_low, t.dia_warn_low, t.dia_warn_high, t.dia_alert_high) END
      AS diastolic_level,
    CASE WHEN NOT r.implausible THEN grafana.threshold_level(
      r.pulse_rate, t.pulse_alert_low, t.pulse_warn_low, t.pulse_warn_high, t.pulse_alert_high) END
      AS pulse_level
) lv
WHERE r.kind = 'blood_pressure' AND r.citizen_id IS NOT NULL;

-- A citizen's devices now, with the gateway each was last heard through --------------------
CREATE VIEW grafana.citizen_devices AS
SELECT a.citizen_id, d.id AS device_id, a.user_slot, d.kind, d.manufacturer, d.model,
       d.battery_level, d.battery_at, d.last_seen AS device_last_seen,
       g.gateway_id, g.state AS gateway_state, g.last_seen AS gateway_last_seen,
       g.outbox_depth
FROM device_assignments a
JOIN devices d ON d.id = a.device_id
LEFT JOIN gateways g ON g.gateway_id = d.last_gateway_id
WHERE a.valid @> now();

-- Care overview: one row per active citizen ---------------------------------------------
-- "Now"-relative by design: the nurse plans today. Days since the last measurement count
-- calendar days in the citizen's timezone (measured yesterday evening = 1).
CREATE VIEW grafana.care_overview AS
SELECT c.citizen_id, c.label, c.care_team, c.timezone,
       last_bp.measured_at AS last_measured_at,
       last_bp.systolic AS last_systolic, last_bp.diastolic AS last_diastolic,
       last_bp.pulse_rate AS last_pulse, last_bp.level AS last_level,
       coalesce(grafana.level_rank(last_bp.level), -1) AS last_level_rank,
       mean7.systolic AS mean7_systolic, mean7.diastolic AS mean7_diastolic,
       mean7.pulse_rate AS mean7_pulse, coalesce(mean7.readings, 0) AS mean7_readings,
       grafana.worst_level(
         grafana.threshold_level(mean7.systolic, t.sys_alert_low, t.sys_warn_low,
                                 t.sys_warn_high, t.sys_alert_high),
         grafana.threshold_level(mean7.diastolic, t.dia_alert_low, t.dia_warn_low,
                                 t.dia_warn_high, t.dia_alert_high)) AS mean7_level,
       coalesce(al.open_alerts, 0) AS open_alerts,
       coalesce(al.unresolved_alerts, 0) AS unresolved_alerts,
       last_any.measured_at AS last_any_measured_at,
       ((now() AT TIME ZONE c.timezone)::date
        - (last_any.measured_at AT TIME ZONE c.timezone)::date) AS days_since_last,
       dev.devices, dev.battery_min, dev.gateway_state, dev.gateway_last_seen
FROM grafana.citizens c
LEFT JOIN grafana.bp_thresholds t ON t.citizen_id = c.citizen_id
LEFT JOIN LATERAL (
  SELECT b.measured_at, b.systolic, b.diastolic, b.pulse_rate, b.level
  FROM grafana.bp_readings b
  WHERE b.citizen_id = c.citizen_id AND NOT b.implausible AND NOT b.clock_in_future
    AND b.measured_at <= now()
  ORDER BY b.measured_at DESC LIMIT 1
) last_bp ON true
LEFT JOIN LATERAL (
  SELECT round(avg(r.systolic)::numeric, 1)::double precision AS systolic,
         round(avg(r.diastolic)::numeric, 1)::double precision AS diastolic,
         round(avg(r.pulse_rate)::numeric, 1)::double precision AS pulse_rate,
         count(*) AS readings
  FROM readings r
  WHERE r.citizen_id = c.citizen_id AND r.kind = 'blood_pressure' AND NOT r.implausible
    AND NOT r.clock_in_future
    AND r.measured_at > now() - interval '7 days' AND r.measured_at <= now()
) mean7 ON true
LEFT JOIN LATERAL (
  SELECT r.measured_at FROM readings r
  WHERE r.citizen_id = c.citizen_id AND r.measured_at <= now()
  ORDER BY r.measured_at DESC LIMIT 1
) last_any ON true
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE a.state = 'open') AS open_alerts,
         count(*) AS unresolved_alerts
  FROM alerts a WHERE a.citizen_id = c.citizen_id AND a.state <> 'resolved'
) al ON true
LEFT JOIN LATERAL (
  SELECT count(*) AS devices, min(cd.battery_level) AS battery_min,
         CASE WHEN bool_or(cd.gateway_state = 'offline') THEN 'offline'
              WHEN bool_or(cd.gateway_state = 'unknown') THEN 'unknown'
              WHEN bool_or(cd.gateway_state = 'online') THEN 'online' END AS gateway_state,
         max(cd.gateway_last_seen) AS gateway_last_seen
  FROM grafana.citizen_devices cd WHERE cd.citizen_id = c.citizen_id
) dev ON true
WHERE c.active;

-- Fleet: one row per gateway -------------------------------------------------------------
CREATE VIEW grafana.gateway_overview AS
SELECT g.gateway_id, g.state, g.last_seen, g.status_at, g.version, g.uptime_s, g.outbox_depth,
       g.outbox_full, g.last_batch_seq,
       coalesce(d.devices, 0) AS devices, d.battery_min,
       coalesce(bg.missing, 0) AS missing_batches
FROM gateways g
LEFT JOIN (
  SELECT last_gateway_id, count(*) AS devices, min(battery_level) AS battery_min
  FROM devices GROUP BY last_gateway_id
) d ON d.last_gateway_id = g.gateway_id
LEFT JOIN (
  -- A gap later filled by a batch that committed late (several workers) is not missing.
  SELECT gateway_id, sum(missing - filled)::bigint AS missing FROM batch_gaps GROUP BY gateway_id
) bg ON bg.gateway_id = g.gateway_id;

-- Readings per minute and lag filter on the hub's commit time; without this index those
-- panels would scan every chunk of the hypertable.
CREATE INDEX readings_received_at ON readings (received_at DESC);

GRANT SELECT ON ALL TABLES IN SCHEMA grafana TO homevitals_grafana;
GRANT EXECUTE ON FUNCTION grafana.threshold_level(double precision, real, real, real, real),
  grafana.level_rank(text), grafana.worst_level(text[]) TO homevitals_grafana;
