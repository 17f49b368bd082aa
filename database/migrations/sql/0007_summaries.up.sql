-- Issue 17: summary tables that keep the care overview fast on years of readings, kept
-- exact by every writer (docs/database.md, "Summaries").
--
-- The Apache-2 TimescaleDB build has no continuous aggregates, so the hub keeps two small
-- tables itself:
--   latest_readings  one row per citizen and kind: the newest reading of any kind of flag,
--                    and the newest plausible one (not implausible, clock not in the future);
--   daily_summaries  one row per citizen, kind and local calendar day (the citizen's own
--                    timezone): counts, and n / sum / min / max of each main value over the
--                    plausible readings, so a mean over any set of days is exact.
-- Who maintains them:
--   * ingest, once per batch and in the batch's transaction: summaries_add() over the
--     readings the batch stored (ingest/summaries.py). Its connection sets
--     homevitals.summaries = 'batched', which turns the row trigger below off for it;
--   * every other writer (the API's re-assignments, an operator's DELETE, test seeds): the
--     row trigger readings_summaries, which adds an inserted reading and recomputes the
--     day and latest row of an updated or deleted one from the raw rows;
--   * retention (drop_chunks fires no triggers): summaries_recompute_range() over the days
--     at the cut (database/retention.py).

CREATE TABLE latest_readings (
  citizen_id        bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
  kind              text NOT NULL,
  last_at           timestamptz NOT NULL,   -- newest measured_at, whatever its flags
  valid_at          timestamptz,            -- newest plausible reading: its time and values
  valid_reading_id  uuid,
  systolic          real,
  diastolic         real,
  pulse_rate        real,
  value             double precision,
  PRIMARY KEY (citizen_id, kind)
);

CREATE TABLE daily_summaries (
  citizen_id     bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
  kind           text NOT NULL,
  local_date     date NOT NULL,           -- measured_at in the citizen's timezone
  readings       integer NOT NULL,        -- every reading, flagged or not
  valid          integer NOT NULL,        -- neither implausible nor clock_in_future
  morning        integer NOT NULL,        -- valid readings per home-BP session (bp_session)
  evening        integer NOT NULL,
  systolic_n     integer NOT NULL, systolic_sum   double precision, systolic_min   real, systolic_max   real,
  diastolic_n    integer NOT NULL, diastolic_sum  double precision, diastolic_min  real, diastolic_max  real,
  pulse_rate_n   integer NOT NULL, pulse_rate_sum double precision, pulse_rate_min real, pulse_rate_max real,
  value_n        integer NOT NULL, value_sum      double precision, value_min      double precision,
  value_max      double precision,
  PRIMARY KEY (citizen_id, kind, local_date)
);
COMMENT ON TABLE daily_summaries IS
  'Per citizen, kind and local day; kept exact by ingest and the readings_summaries trigger.';

-- Is (new_at, new_id) the newer plausible reading? Ties on time go to the larger id, so
-- every path picks the same row.
CREATE FUNCTION summaries_newer(new_at timestamptz, new_id uuid, old_at timestamptz, old_id uuid)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT new_at IS NOT NULL AND (old_at IS NULL OR (new_at, new_id) > (old_at, old_id))
$$;

-- Add readings (parallel arrays, one element per stored reading) to both tables. Set-based,
-- keys sorted so two workers lock summary rows in the same order. Unattributed readings
-- (citizen NULL) are skipped. Incremental, so call it once per reading: ingest calls it for
-- the ids its ledger insert returned, i.e. only new readings.
CREATE FUNCTION summaries_add(
  p_citizen_id bigint[], p_kind text[], p_measured_at timestamptz[], p_reading_id uuid[],
  p_systolic real[], p_diastolic real[], p_pulse_rate real[], p_value double precision[],
  p_implausible boolean[], p_clock_in_future boolean[]
) RETURNS void
LANGUAGE sql VOLATILE AS $$
  WITH r AS MATERIALIZED (
    SELECT u.citizen_id, u.kind, u.measured_at, u.reading_id, u.systolic, u.diastolic,
           u.pulse_rate, u.value, NOT (u.implausible OR u.clock_in_future) AS valid,
           (u.measured_at AT TIME ZONE c.timezone)::date AS local_date,
           bp_session(u.measured_at, c.timezone) AS session
    FROM unnest(p_citizen_id, p_kind, p_measured_at, p_reading_id, p_systolic, p_diastolic,
                p_pulse_rate, p_value, p_implausible, p_clock_in_future)
         AS u(citizen_id, kind, measured_at, reading_id, systolic, diastolic, pulse_rate, value,
              implausible, clock_in_future)
    JOIN citizens c ON c.id = u.citizen_id
  ), days AS (
    INSERT INTO daily_summaries AS d
    SELECT citizen_id, kind, local_date, count(*), count(*) FILTER (WHERE valid),
           count(*) FILTER (WHERE valid AND session = 'morning'),
           count(*) FILTER (WHERE valid AND session = 'evening'),
           count(systolic) FILTER (WHERE valid), sum(systolic::float8) FILTER (WHERE valid),
           min(systolic) FILTER (WHERE valid), max(systolic) FILTER (WHERE valid),
           count(diastolic) FILTER (WHERE valid), sum(diastolic::float8) FILTER (WHERE valid),
           min(diastolic) FILTER (WHERE valid), max(diastolic) FILTER (WHERE valid),
           count(pulse_rate) FILTER (WHERE valid), sum(pulse_rate::float8) FILTER (WHERE valid),
           min(pulse_rate) FILTER (WHERE valid), max(pulse_rate) FILTER (WHERE valid),
           count(value) FILTER (WHERE valid), sum(value) FILTER (WHERE valid),
           min(value) FILTER (WHERE valid), max(value) FILTER (WHERE valid)
    FROM r GROUP BY citizen_id, kind, local_date ORDER BY citizen_id, kind, local_date
    ON CONFLICT (citizen_id, kind, local_date) DO UPDATE SET
      readings = d.readings + excluded.readings,
      valid = d.valid + excluded.valid,
      morning = d.morning + excluded.morning,
      evening = d.evening + excluded.evening,
      systolic_n = d.systolic_n + excluded.systolic_n,
      systolic_sum = CASE WHEN excluded.systolic_n = 0 THEN d.systolic_sum
                          ELSE coalesce(d.systolic_sum, 0) + excluded.systolic_sum END,
      systolic_min = least(d.systolic_min, excluded.systolic_min),
      systolic_max = greatest(d.systolic_max, excluded.systolic_max),
      diastolic_n = d.diastolic_n + excluded.diastolic_n,
      diastolic_sum = CASE WHEN excluded.diastolic_n = 0 THEN d.diastolic_sum
                           ELSE coalesce(d.diastolic_sum, 0) + excluded.diastolic_sum END,
      diastolic_min = least(d.diastolic_min, excluded.diastolic_min),
      diastolic_max = greatest(d.diastolic_max, excluded.diastolic_max),
      pulse_rate_n = d.pulse_rate_n + excluded.pulse_rate_n,
      pulse_rate_sum = CASE WHEN excluded.pulse_rate_n = 0 THEN d.pulse_rate_sum
                            ELSE coalesce(d.pulse_rate_sum, 0) + excluded.pulse_rate_sum END,
      pulse_rate_min = least(d.pulse_rate_min, excluded.pulse_rate_min),
      pulse_rate_max = greatest(d.pulse_rate_max, excluded.pulse_rate_max),
      value_n = d.value_n + excluded.value_n,
      value_sum = CASE WHEN excluded.value_n = 0 THEN d.value_sum
                       ELSE coalesce(d.value_sum, 0) + excluded.value_sum END,
      value_min = least(d.value_min, excluded.value_min),
      value_max = greatest(d.value_max, excluded.value_max)
    RETURNING 1
  ), newest AS (
    SELECT g.citizen_id, g.kind, g.last_at, v.measured_at AS valid_at, v.reading_id,
           v.systolic, v.diastolic, v.pulse_rate, v.value
    FROM (SELECT citizen_id, kind, max(measured_at) AS last_at FROM r GROUP BY citizen_id, kind) g
    LEFT JOIN LATERAL (
      SELECT r2.measured_at, r2.reading_id, r2.systolic, r2.diastolic, r2.pulse_rate, r2.value
      FROM r r2 WHERE r2.citizen_id = g.citizen_id AND r2.kind = g.kind AND r2.valid
      ORDER BY r2.measured_at DESC, r2.reading_id DESC LIMIT 1
    ) v ON true
  )
  INSERT INTO latest_readings AS l
  SELECT citizen_id, kind, last_at, valid_at, reading_id, systolic, diastolic, pulse_rate, value
  FROM newest ORDER BY citizen_id, kind
  ON CONFLICT (citizen_id, kind) DO UPDATE SET
    last_at = greatest(l.last_at, excluded.last_at),
    valid_at = CASE WHEN summaries_newer(excluded.valid_at, excluded.valid_reading_id, l.valid_at, l.valid_reading_id) THEN excluded.valid_at ELSE l.valid_at END,
    valid_reading_id = CASE WHEN summaries_newer(excluded.valid_at, excluded.valid_reading_id, l.valid_at, l.valid_reading_id) THEN excluded.valid_reading_id ELSE l.valid_reading_id END,
    systolic = CASE WHEN summaries_newer(excluded.valid_at, excluded.valid_reading_id, l.valid_at, l.valid_reading_id) THEN excluded.systolic ELSE l.systolic END,
    diastolic = CASE WHEN summaries_newer(excluded.valid_at, excluded.valid_reading_id, l.valid_at, l.valid_reading_id) THEN excluded.diastolic ELSE l.diastolic END,
    pulse_rate = CASE WHEN summaries_newer(excluded.valid_at, excluded.valid_reading_id, l.valid_at, l.valid_reading_id) THEN excluded.pulse_rate ELSE l.pulse_rate END,
    value = CASE WHEN summaries_newer(excluded.valid_at, excluded.valid_reading_id, l.valid_at, l.valid_reading_id) THEN excluded.value ELSE l.value END
$$;
COMMENT ON FUNCTION summaries_add(bigint[], text[], timestamptz[], uuid[], real[], real[], real[],
  double precision[], boolean[], boolean[]) IS
  'Add newly stored readings to latest_readings and daily_summaries (once per reading).';

-- Recompute one citizen's daily summaries for the local days [p_from, p_to] (dates in their
-- timezone) from the raw rows. Exact whatever the table held before.
CREATE FUNCTION summaries_recompute_days(p_citizen_id bigint, p_from date, p_to date) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  tz text;
BEGIN
  SELECT timezone INTO tz FROM citizens WHERE id = p_citizen_id;
  IF NOT FOUND THEN
    RETURN;  -- the citizen is gone; ON DELETE CASCADE removed the summaries
  END IF;
  DELETE FROM daily_summaries
  WHERE citizen_id = p_citizen_id AND local_date BETWEEN p_from AND p_to;
  INSERT INTO daily_summaries
  SELECT r.citizen_id, r.kind, (r.measured_at AT TIME ZONE tz)::date AS local_date,
         count(*), count(*) FILTER (WHERE v.valid),
         count(*) FILTER (WHERE v.valid AND bp_session(r.measured_at, tz) = 'morning'),
         count(*) FILTER (WHERE v.valid AND bp_session(r.measured_at, tz) = 'evening'),
         count(r.systolic) FILTER (WHERE v.valid), sum(r.systolic::float8) FILTER (WHERE v.valid),
         min(r.systolic) FILTER (WHERE v.valid), max(r.systolic) FILTER (WHERE v.valid),
         count(r.diastolic) FILTER (WHERE v.valid), sum(r.diastolic::float8) FILTER (WHERE v.valid),
         min(r.diastolic) FILTER (WHERE v.valid), max(r.diastolic) FILTER (WHERE v.valid),
         count(r.pulse_rate) FILTER (WHERE v.valid), sum(r.pulse_rate::float8) FILTER (WHERE v.valid),
         min(r.pulse_rate) FILTER (WHERE v.valid), max(r.pulse_rate) FILTER (WHERE v.valid),
         count(r.value) FILTER (WHERE v.valid), sum(r.value) FILTER (WHERE v.valid),
         min(r.value) FILTER (WHERE v.valid), max(r.value) FILTER (WHERE v.valid)
  FROM readings r
  CROSS JOIN LATERAL (SELECT NOT (r.implausible OR r.clock_in_future) AS valid) v
  WHERE r.citizen_id = p_citizen_id
    AND r.measured_at >= (p_from::timestamp AT TIME ZONE tz)
    AND r.measured_at < ((p_to + 1)::timestamp AT TIME ZONE tz)
  GROUP BY r.citizen_id, r.kind, 3;
END
$$;

-- Recompute one citizen's latest row of one kind from the raw rows (two index probes).
CREATE FUNCTION summaries_recompute_latest(p_citizen_id bigint, p_kind text) RETURNS void
LANGUAGE sql VOLATILE AS $$
  DELETE FROM latest_readings WHERE citizen_id = p_citizen_id AND kind = p_kind;
  INSERT INTO latest_readings
  SELECT p_citizen_id, p_kind, k.last_at, v.measured_at, v.reading_id, v.systolic, v.diastolic,
         v.pulse_rate, v.value
  FROM (SELECT r.measured_at AS last_at FROM readings r
        WHERE r.citizen_id = p_citizen_id AND r.kind = p_kind
        ORDER BY r.measured_at DESC LIMIT 1) k
  LEFT JOIN LATERAL (
    SELECT r.measured_at, r.reading_id, r.systolic, r.diastolic, r.pulse_rate, r.value
    FROM readings r
    WHERE r.citizen_id = p_citizen_id AND r.kind = p_kind AND NOT r.implausible
      AND NOT r.clock_in_future
    ORDER BY r.measured_at DESC, r.reading_id DESC LIMIT 1
  ) v ON true;
$$;

-- Both, for every kind: a citizen's summaries for local days [p_from, p_to] made exact.
CREATE FUNCTION summaries_recompute(p_citizen_id bigint, p_from date, p_to date) RETURNS void
LANGUAGE sql VOLATILE AS $$
  SELECT summaries_recompute_days(p_citizen_id, p_from, p_to);
  SELECT summaries_recompute_latest(p_citizen_id, k)
  FROM unnest(ARRAY['blood_pressure', 'weight', 'glucose', 'temperature', 'pulse_oximetry']) AS k;
$$;
COMMENT ON FUNCTION summaries_recompute(bigint, date, date) IS
  'Recompute one citizen''s daily summaries for local days [p_from, p_to], and their latest rows, from readings.';

-- The same for every citizen with readings or summaries in a UTC time range: the days that
-- range touches in each citizen's own timezone. Returns the number of citizens recomputed.
CREATE FUNCTION summaries_recompute_range(p_from timestamptz, p_to timestamptz) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  n bigint := 0;
  c record;
BEGIN
  FOR c IN
    SELECT ci.id, ci.timezone FROM citizens ci
    WHERE EXISTS (SELECT FROM daily_summaries d WHERE d.citizen_id = ci.id
                    AND d.local_date BETWEEN (p_from AT TIME ZONE ci.timezone)::date
                                         AND (p_to AT TIME ZONE ci.timezone)::date)
       OR EXISTS (SELECT FROM latest_readings l WHERE l.citizen_id = ci.id
                    AND (l.last_at < p_to OR l.valid_at < p_to))
    ORDER BY ci.id
  LOOP
    PERFORM summaries_recompute(c.id, (p_from AT TIME ZONE c.timezone)::date,
                                (p_to AT TIME ZONE c.timezone)::date);
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;

-- Every writer but ingest's batch path: add an inserted reading, recompute the day of an
-- updated or deleted one (old and new citizen and day). AFTER ROW triggers run once the
-- statement has changed every row, so a recomputation sees its final state.
CREATE FUNCTION readings_maintain_summaries() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  tz text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.citizen_id IS NOT NULL THEN
      PERFORM summaries_add(ARRAY[NEW.citizen_id], ARRAY[NEW.kind], ARRAY[NEW.measured_at],
                            ARRAY[NEW.reading_id], ARRAY[NEW.systolic], ARRAY[NEW.diastolic],
                            ARRAY[NEW.pulse_rate], ARRAY[NEW.value], ARRAY[NEW.implausible],
                            ARRAY[NEW.clock_in_future]);
    END IF;
    RETURN NULL;
  END IF;
  IF OLD.citizen_id IS NOT NULL THEN
    SELECT timezone INTO tz FROM citizens WHERE id = OLD.citizen_id;
    PERFORM summaries_recompute_days(OLD.citizen_id, (OLD.measured_at AT TIME ZONE tz)::date,
                                     (OLD.measured_at AT TIME ZONE tz)::date);
    PERFORM summaries_recompute_latest(OLD.citizen_id, OLD.kind);
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.citizen_id IS NOT NULL THEN
    SELECT timezone INTO tz FROM citizens WHERE id = NEW.citizen_id;
    PERFORM summaries_recompute_days(NEW.citizen_id, (NEW.measured_at AT TIME ZONE tz)::date,
                                     (NEW.measured_at AT TIME ZONE tz)::date);
    PERFORM summaries_recompute_latest(NEW.citizen_id, NEW.kind);
  END IF;
  RETURN NULL;
END
$$;

-- The WHEN clause is evaluated without entering PL/pgSQL, so ingest's rows cost next to
-- nothing here (docs/benchmarks.md, "Summaries").
CREATE TRIGGER readings_summaries
AFTER INSERT OR DELETE OR UPDATE OF citizen_id, kind, measured_at, systolic, diastolic, pulse_rate,
  value, implausible, clock_in_future
ON readings FOR EACH ROW
WHEN (current_setting('homevitals.summaries', true) IS DISTINCT FROM 'batched')
EXECUTE FUNCTION readings_maintain_summaries();

-- A citizen whose timezone changes has other local days: recompute all of theirs.
CREATE FUNCTION citizens_timezone_summaries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM summaries_recompute_days(NEW.id, '-infinity'::date, 'infinity'::date);
  RETURN NULL;
END
$$;
CREATE TRIGGER citizens_timezone_summaries
AFTER UPDATE OF timezone ON citizens FOR EACH ROW
WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
EXECUTE FUNCTION citizens_timezone_summaries();

-- The care overview, read from the summaries ---------------------------------------------
-- Same columns and meaning as 0004's view, which evaluated five lateral subqueries over raw
-- readings per citizen. Now: the latest rows and the full days of the 7-day window come
-- from the summaries; raw readings are read only for the part of the window's first local
-- day that lies inside it, and, only when a citizen has readings timed after now(), for
-- today and for their last reading.
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

-- Privileges ------------------------------------------------------------------------------
-- Ingest adds; the API's writes (re-assignment) recompute through the trigger.
GRANT SELECT, INSERT, UPDATE ON latest_readings, daily_summaries TO homevitals_ingest;
GRANT SELECT, INSERT, UPDATE, DELETE ON latest_readings, daily_summaries TO homevitals_api;
GRANT EXECUTE ON FUNCTION summaries_add(bigint[], text[], timestamptz[], uuid[], real[], real[],
  real[], double precision[], boolean[], boolean[]) TO homevitals_ingest, homevitals_api;
GRANT EXECUTE ON FUNCTION summaries_recompute(bigint, date, date),
  summaries_recompute_days(bigint, date, date), summaries_recompute_latest(bigint, text)
  TO homevitals_api;

-- Build the tables for readings stored before this migration.
INSERT INTO daily_summaries
SELECT r.citizen_id, r.kind, (r.measured_at AT TIME ZONE c.timezone)::date,
       count(*), count(*) FILTER (WHERE v.valid),
       count(*) FILTER (WHERE v.valid AND bp_session(r.measured_at, c.timezone) = 'morning'),
       count(*) FILTER (WHERE v.valid AND bp_session(r.measured_at, c.timezone) = 'evening'),
       count(r.systolic) FILTER (WHERE v.valid), sum(r.systolic::float8) FILTER (WHERE v.valid),
       min(r.systolic) FILTER (WHERE v.valid), max(r.systolic) FILTER (WHERE v.valid),
       count(r.diastolic) FILTER (WHERE v.valid), sum(r.diastolic::float8) FILTER (WHERE v.valid),
       min(r.diastolic) FILTER (WHERE v.valid), max(r.diastolic) FILTER (WHERE v.valid),
       count(r.pulse_rate) FILTER (WHERE v.valid), sum(r.pulse_rate::float8) FILTER (WHERE v.valid),
       min(r.pulse_rate) FILTER (WHERE v.valid), max(r.pulse_rate) FILTER (WHERE v.valid),
       count(r.value) FILTER (WHERE v.valid), sum(r.value) FILTER (WHERE v.valid),
       min(r.value) FILTER (WHERE v.valid), max(r.value) FILTER (WHERE v.valid)
FROM readings r
JOIN citizens c ON c.id = r.citizen_id
CROSS JOIN LATERAL (SELECT NOT (r.implausible OR r.clock_in_future) AS valid) v
GROUP BY r.citizen_id, r.kind, 3;
SELECT summaries_recompute_latest(d.citizen_id, d.kind)
FROM (SELECT DISTINCT citizen_id, kind FROM daily_summaries) d;
