-- Undo 0001. The extensions (timescaledb, btree_gist) stay: other schemas may use them, and
-- 0001 creates them only if they are missing. So do the cluster-wide roles.
DROP SCHEMA IF EXISTS grafana CASCADE;
-- TimescaleDB drops a hypertable only on its own, never in a list with other tables.
DROP TABLE IF EXISTS readings CASCADE;
DROP TABLE IF EXISTS batch_gaps, dead_letters, audit_log, alerts, thresholds, default_thresholds,
  reading_ids, device_assignments, devices, gateways, citizens CASCADE;
DROP VIEW IF EXISTS effective_thresholds;
DROP FUNCTION IF EXISTS audit_log_reject_change();
DROP FUNCTION IF EXISTS bp_session(timestamptz, text);
