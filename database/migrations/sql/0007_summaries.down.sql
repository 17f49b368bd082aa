-- Undo 0007_summaries.up.sql: the care overview reads raw readings again (0004's view).
CREATE OR REPLACE VIEW grafana.care_overview AS
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

DROP TRIGGER IF EXISTS citizens_timezone_summaries ON citizens;
DROP FUNCTION IF EXISTS citizens_timezone_summaries();
DROP TRIGGER IF EXISTS readings_summaries ON readings;
DROP FUNCTION IF EXISTS readings_maintain_summaries();
DROP FUNCTION IF EXISTS summaries_recompute_range(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS summaries_recompute(bigint, date, date);
DROP FUNCTION IF EXISTS summaries_recompute_latest(bigint, text);
DROP FUNCTION IF EXISTS summaries_recompute_days(bigint, date, date);
DROP FUNCTION IF EXISTS summaries_add(bigint[], text[], timestamptz[], uuid[], real[], real[], real[],
  double precision[], boolean[], boolean[]);
DROP FUNCTION IF EXISTS summaries_newer(timestamptz, uuid, timestamptz, uuid);
DROP TABLE IF EXISTS daily_summaries;
DROP TABLE IF EXISTS latest_readings;
