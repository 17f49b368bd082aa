-- summaries_add (0007) without its per-group scan: the newest plausible reading of each
-- (citizen, kind) came from a LATERAL subquery that re-read the whole batch (the materialized
-- CTE) once per group, i.e. readings x groups rows per batch. At one reading per message a
-- batch of 400 readings holds ~400 citizens: 160,000 CTE rows read per batch, about half of
-- PostgreSQL's CPU on ingest's write path (NOTES-ingestpg.md). One DISTINCT ON pass over the
-- batch picks the same row (same order: measured_at, then reading_id, both descending).
-- Nothing else changes: same signature, same result, same lock order.
CREATE OR REPLACE FUNCTION summaries_add(
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
    LEFT JOIN (
      SELECT DISTINCT ON (citizen_id, kind) citizen_id, kind, measured_at, reading_id, systolic,
             diastolic, pulse_rate, value
      FROM r WHERE valid
      ORDER BY citizen_id, kind, measured_at DESC, reading_id DESC
    ) v ON v.citizen_id = g.citizen_id AND v.kind = g.kind
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
