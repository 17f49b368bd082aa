DROP SCHEMA IF EXISTS grafana CASCADE;
DROP TABLE IF EXISTS batch_gaps, dead_letters, audit_log, alerts, thresholds, default_thresholds,
  readings, reading_ids, device_assignments, devices, gateways, citizens CASCADE;
DROP VIEW IF EXISTS effective_thresholds;
DROP FUNCTION IF EXISTS audit_log_reject_change();
DROP FUNCTION IF EXISTS bp_session(timestamptz, text);
