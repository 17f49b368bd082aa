CREATE OR REPLACE FUNCTION assign_unassigned_readings(p_assignment_id bigint) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
  WITH assigned AS (
    UPDATE readings r
    SET citizen_id = a.citizen_id, assignment_id = a.id
    FROM device_assignments a
    WHERE a.id = p_assignment_id
      AND r.citizen_id IS NULL
      AND r.device_id = a.device_id
      AND coalesce(r.user_slot, 1) = a.user_slot
      AND r.measured_at >= lower(a.valid)
      AND (upper(a.valid) IS NULL OR r.measured_at < upper(a.valid))
    RETURNING 1
  )
  SELECT count(*) FROM assigned
$$;
DROP VIEW grafana.gateway_overview;
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
  SELECT gateway_id, sum(missing - filled)::bigint AS missing FROM batch_gaps GROUP BY gateway_id
) bg ON bg.gateway_id = g.gateway_id;
GRANT SELECT ON grafana.gateway_overview TO homevitals_grafana;
DROP INDEX readings_quarantined;
ALTER TABLE readings DROP COLUMN quarantine_reason;
ALTER TABLE devices DROP COLUMN bound_by, DROP COLUMN bound_at, DROP COLUMN bound_gateway_id;
DROP TABLE enrollment_attempts;
DROP TABLE enrollment_codes;
ALTER TABLE gateways DROP COLUMN revoked_by, DROP COLUMN revoked_at, DROP COLUMN broker_client_id,
  DROP COLUMN broker_username, DROP COLUMN enrolled_by, DROP COLUMN enrolled_at;
