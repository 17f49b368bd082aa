-- Undo 0008: 0007's care overview (rolling 7 x 24 h window, raw reads in the view).
CREATE OR REPLACE VIEW grafana.care_overview AS
SELECT c.citizen_id, c.label, c.care_team, c.timezone,
       last_bp.measured_at AS last_measured_at,
       last_bp.systolic AS last_systolic, last_bp.diastolic AS last_diastolic,
       last_bp.pulse_rate AS last_pulse, lv.level AS last_level,
       coalesce(grafana.level_rank(lv.level), -1) AS last_level_rank,
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
CROSS JOIN LATERAL (
  SELECT (now() - interval '7 days') AS lo,
         ((now() - interval '7 days') AT TIME ZONE c.timezone)::date AS lo_date,
         ((((now() - interval '7 days') AT TIME ZONE c.timezone)::date + 1)::timestamp
          AT TIME ZONE c.timezone) AS lo_end,
         (now() AT TIME ZONE c.timezone)::date AS today,
         (((now() AT TIME ZONE c.timezone)::date)::timestamp AT TIME ZONE c.timezone) AS today_start
) w
LEFT JOIN LATERAL (
  SELECT * FROM grafana.bp_thresholds bt WHERE bt.citizen_id = c.citizen_id
) t ON true
LEFT JOIN latest_readings lb ON lb.citizen_id = c.citizen_id AND lb.kind = 'blood_pressure'
LEFT JOIN LATERAL (
  SELECT lb.valid_at AS measured_at, lb.systolic, lb.diastolic, lb.pulse_rate
  WHERE lb.valid_at <= now()
  UNION ALL
  (SELECT r.measured_at, r.systolic, r.diastolic, r.pulse_rate FROM readings r
   WHERE lb.valid_at > now() AND r.citizen_id = c.citizen_id AND r.kind = 'blood_pressure'
     AND NOT r.implausible AND NOT r.clock_in_future AND r.measured_at <= now()
   ORDER BY r.measured_at DESC LIMIT 1)
  LIMIT 1
) last_bp ON true
CROSS JOIN LATERAL (
  SELECT grafana.worst_level(
    grafana.threshold_level(last_bp.systolic, t.sys_alert_low, t.sys_warn_low, t.sys_warn_high,
                            t.sys_alert_high),
    grafana.threshold_level(last_bp.diastolic, t.dia_alert_low, t.dia_warn_low, t.dia_warn_high,
                            t.dia_alert_high),
    grafana.threshold_level(last_bp.pulse_rate, t.pulse_alert_low, t.pulse_warn_low,
                            t.pulse_warn_high, t.pulse_alert_high)) AS level
) lv
LEFT JOIN LATERAL (
  SELECT round((sum(p.systolic_sum) / nullif(sum(p.systolic_n), 0))::numeric, 1)::double precision
           AS systolic,
         round((sum(p.diastolic_sum) / nullif(sum(p.diastolic_n), 0))::numeric, 1)::double precision
           AS diastolic,
         round((sum(p.pulse_rate_sum) / nullif(sum(p.pulse_rate_n), 0))::numeric, 1)::double precision
           AS pulse_rate,
         sum(p.n) AS readings
  FROM (
    -- Whole local days inside (now() - 7 days, now()]; today too unless it holds readings
    -- timed after now().
    SELECT d.valid AS n, d.systolic_n, d.systolic_sum, d.diastolic_n, d.diastolic_sum,
           d.pulse_rate_n, d.pulse_rate_sum
    FROM daily_summaries d
    WHERE d.citizen_id = c.citizen_id AND d.kind = 'blood_pressure'
      AND d.local_date > w.lo_date
      AND (d.local_date < w.today OR (d.local_date = w.today AND lb.last_at <= now()))
    UNION ALL
    -- The window's first, partial local day (the constant bounds let TimescaleDB skip chunks).
    SELECT 1, (r.systolic IS NOT NULL)::integer, r.systolic::float8,
           (r.diastolic IS NOT NULL)::integer, r.diastolic::float8,
           (r.pulse_rate IS NOT NULL)::integer, r.pulse_rate::float8
    FROM readings r
    WHERE r.citizen_id = c.citizen_id AND r.kind = 'blood_pressure' AND NOT r.implausible
      AND NOT r.clock_in_future
      AND r.measured_at > now() - interval '7 days'
      AND r.measured_at < now() - interval '7 days' + interval '26 hours'
      AND r.measured_at < w.lo_end
    UNION ALL
    -- Today from raw rows, only when some of its readings are timed after now().
    SELECT 1, (r.systolic IS NOT NULL)::integer, r.systolic::float8,
           (r.diastolic IS NOT NULL)::integer, r.diastolic::float8,
           (r.pulse_rate IS NOT NULL)::integer, r.pulse_rate::float8
    FROM readings r
    WHERE lb.last_at > now() AND r.citizen_id = c.citizen_id AND r.kind = 'blood_pressure'
      AND NOT r.implausible AND NOT r.clock_in_future
      AND r.measured_at >= w.today_start AND r.measured_at <= now()
      AND r.measured_at > now() - interval '7 days'
  ) p
) mean7 ON true
LEFT JOIN LATERAL (
  SELECT max(l.last_at) AS last_at FROM latest_readings l WHERE l.citizen_id = c.citizen_id
) la ON true
LEFT JOIN LATERAL (
  SELECT la.last_at AS measured_at WHERE la.last_at <= now()
  UNION ALL
  (SELECT r.measured_at FROM readings r
   WHERE la.last_at > now() AND r.citizen_id = c.citizen_id AND r.measured_at <= now()
   ORDER BY r.measured_at DESC LIMIT 1)
  LIMIT 1
) last_any ON true
LEFT JOIN (
  SELECT a.citizen_id, count(*) FILTER (WHERE a.state = 'open') AS open_alerts,
         count(*) AS unresolved_alerts
  FROM alerts a WHERE a.state <> 'resolved' GROUP BY a.citizen_id
) al ON al.citizen_id = c.citizen_id
LEFT JOIN (
  SELECT cd.citizen_id, count(*) AS devices, min(cd.battery_level) AS battery_min,
         CASE WHEN bool_or(cd.gateway_state = 'offline') THEN 'offline'
              WHEN bool_or(cd.gateway_state = 'unknown') THEN 'unknown'
              WHEN bool_or(cd.gateway_state = 'online') THEN 'online' END AS gateway_state,
         max(cd.gateway_last_seen) AS gateway_last_seen
  FROM grafana.citizen_devices cd GROUP BY cd.citizen_id
) dev ON dev.citizen_id = c.citizen_id
WHERE c.active;

DROP VIEW IF EXISTS grafana.bp_personal_thresholds;
DROP FUNCTION IF EXISTS grafana.care_overview_now(bigint, timestamptz);
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I RESET jit', current_database());
END
$$;
