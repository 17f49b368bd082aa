-- Issue 17: the care overview at a municipality's scale (docs/database.md, "Summaries").
--
-- Measured on 10,000 citizens x a year (docs/benchmarks.md, "Scale"), 0007's view still
-- named the readings hypertable three times: planning it (each of 52+ chunks, three times)
-- cost more than running it, and the 7-day mean read raw rows for the window's first,
-- partial day. So:
--   * "7-day mean" is now the plausible readings of the last 7 local calendar days (today
--     and the 6 before, up to now), the days the home-BP report counts, so it comes from
--     daily_summaries alone;
--   * the rare case that needs raw rows (a citizen with readings timed after now(), from a
--     fast device clock) is answered by grafana.care_overview_now(), a function the planner
--     does not look into and the executor calls only for such a citizen;
--   * thresholds: the care-plan defaults once, the few personal ones by citizen, instead of
--     grouping effective_thresholds for every citizen in each panel.

-- A citizen's figures up to now() from raw rows: today's plausible BP sums, the last
-- plausible BP and the last reading of any kind. SECURITY DEFINER: Grafana's role reads
-- views, not readings; this returns only what the view shows.
CREATE FUNCTION grafana.care_overview_now(p_citizen_id bigint, p_today_start timestamptz)
RETURNS TABLE (today_n bigint, today_systolic_n bigint, today_systolic_sum double precision,
               today_diastolic_n bigint, today_diastolic_sum double precision,
               today_pulse_rate_n bigint, today_pulse_rate_sum double precision,
               bp_at timestamptz, systolic real, diastolic real, pulse_rate real,
               any_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.n, t.sn, t.ss, t.dn, t.ds, t.pn, t.ps, b.measured_at, b.systolic, b.diastolic,
         b.pulse_rate, a.measured_at
  FROM (SELECT count(*) AS n, count(r.systolic) AS sn, sum(r.systolic::float8) AS ss,
               count(r.diastolic) AS dn, sum(r.diastolic::float8) AS ds,
               count(r.pulse_rate) AS pn, sum(r.pulse_rate::float8) AS ps
        FROM readings r
        WHERE r.citizen_id = p_citizen_id AND r.kind = 'blood_pressure' AND NOT r.implausible
          AND NOT r.clock_in_future AND r.measured_at >= p_today_start AND r.measured_at <= now()) t
  LEFT JOIN LATERAL (
    SELECT r.measured_at, r.systolic, r.diastolic, r.pulse_rate FROM readings r
    WHERE r.citizen_id = p_citizen_id AND r.kind = 'blood_pressure' AND NOT r.implausible
      AND NOT r.clock_in_future AND r.measured_at <= now()
    ORDER BY r.measured_at DESC LIMIT 1) b ON true
  LEFT JOIN LATERAL (
    SELECT r.measured_at FROM readings r
    WHERE r.citizen_id = p_citizen_id AND r.measured_at <= now()
    ORDER BY r.measured_at DESC LIMIT 1) a ON true
$$;
REVOKE ALL ON FUNCTION grafana.care_overview_now(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION grafana.care_overview_now(bigint, timestamptz)
  TO homevitals_grafana, homevitals_api;

-- Personal blood-pressure thresholds in one row per citizen who has any (few do).
CREATE VIEW grafana.bp_personal_thresholds AS
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
FROM thresholds
WHERE metric IN ('systolic', 'diastolic', 'pulse_rate')
GROUP BY citizen_id;

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
  SELECT (now() AT TIME ZONE c.timezone)::date AS today,
         (((now() AT TIME ZONE c.timezone)::date)::timestamp AT TIME ZONE c.timezone) AS today_start
) w
CROSS JOIN (
  SELECT max(alert_low)  FILTER (WHERE metric = 'systolic')   AS sys_alert_low,
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
  FROM default_thresholds
) dt
LEFT JOIN grafana.bp_personal_thresholds pt ON pt.citizen_id = c.citizen_id
CROSS JOIN LATERAL (
  SELECT coalesce(pt.sys_alert_low, dt.sys_alert_low) AS sys_alert_low,
         coalesce(pt.sys_warn_low, dt.sys_warn_low) AS sys_warn_low,
         coalesce(pt.sys_warn_high, dt.sys_warn_high) AS sys_warn_high,
         coalesce(pt.sys_alert_high, dt.sys_alert_high) AS sys_alert_high,
         coalesce(pt.dia_alert_low, dt.dia_alert_low) AS dia_alert_low,
         coalesce(pt.dia_warn_low, dt.dia_warn_low) AS dia_warn_low,
         coalesce(pt.dia_warn_high, dt.dia_warn_high) AS dia_warn_high,
         coalesce(pt.dia_alert_high, dt.dia_alert_high) AS dia_alert_high,
         coalesce(pt.pulse_alert_low, dt.pulse_alert_low) AS pulse_alert_low,
         coalesce(pt.pulse_warn_low, dt.pulse_warn_low) AS pulse_warn_low,
         coalesce(pt.pulse_warn_high, dt.pulse_warn_high) AS pulse_warn_high,
         coalesce(pt.pulse_alert_high, dt.pulse_alert_high) AS pulse_alert_high
) t
LEFT JOIN latest_readings lb ON lb.citizen_id = c.citizen_id AND lb.kind = 'blood_pressure'
LEFT JOIN LATERAL (
  SELECT max(l.last_at) AS last_at FROM latest_readings l WHERE l.citizen_id = c.citizen_id
) la ON true
-- Only for a citizen with a reading timed after now(): the raw figures up to now(). OFFSET 0
-- keeps the subquery whole, so its condition gates the call instead of filtering its result.
LEFT JOIN LATERAL (
  SELECT * FROM grafana.care_overview_now(c.citizen_id, w.today_start) f
  WHERE la.last_at > now()
  OFFSET 0
) raw ON true
CROSS JOIN LATERAL (
  SELECT CASE WHEN lb.valid_at <= now() THEN lb.valid_at ELSE raw.bp_at END AS measured_at,
         CASE WHEN lb.valid_at <= now() THEN lb.systolic ELSE raw.systolic END AS systolic,
         CASE WHEN lb.valid_at <= now() THEN lb.diastolic ELSE raw.diastolic END AS diastolic,
         CASE WHEN lb.valid_at <= now() THEN lb.pulse_rate ELSE raw.pulse_rate END AS pulse_rate
) last_bp
CROSS JOIN LATERAL (
  SELECT CASE WHEN la.last_at <= now() THEN la.last_at ELSE raw.any_at END AS measured_at
) last_any
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
         sum(p.n)::bigint AS readings
  FROM (
    -- The last 7 local days; today from its summary unless the citizen has readings timed
    -- after now(), then from raw rows.
    SELECT d.valid::bigint AS n, d.systolic_n::bigint AS systolic_n, d.systolic_sum,
           d.diastolic_n::bigint AS diastolic_n, d.diastolic_sum,
           d.pulse_rate_n::bigint AS pulse_rate_n, d.pulse_rate_sum
    FROM daily_summaries d
    WHERE d.citizen_id = c.citizen_id AND d.kind = 'blood_pressure'
      AND d.local_date BETWEEN w.today - 6 AND w.today
      AND (d.local_date < w.today OR NOT (la.last_at > now()))
    UNION ALL
    SELECT raw.today_n, raw.today_systolic_n, raw.today_systolic_sum, raw.today_diastolic_n,
           raw.today_diastolic_sum, raw.today_pulse_rate_n, raw.today_pulse_rate_sum
    WHERE raw.today_n > 0
  ) p
) mean7 ON true
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

GRANT SELECT ON grafana.bp_personal_thresholds TO homevitals_grafana;

-- JIT compilation: the planner's cost estimate of this view's many small joins passes
-- jit_above_cost, and compiling then takes 2 s for a query that runs in 33 ms (measured on
-- the scale data set, docs/benchmarks.md "Scale"). Every query of the hub is short; switch it
-- off for this database (a session may still SET jit = on).
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
END
$$;
