-- Undo 0004_dashboards.up.sql.
DROP INDEX IF EXISTS readings_received_at;
DROP VIEW IF EXISTS grafana.gateway_overview;
DROP VIEW IF EXISTS grafana.care_overview;
DROP VIEW IF EXISTS grafana.citizen_devices;
DROP VIEW IF EXISTS grafana.bp_readings;
DROP VIEW IF EXISTS grafana.bp_thresholds;
DROP FUNCTION IF EXISTS grafana.worst_level(text[]);
DROP FUNCTION IF EXISTS grafana.level_rank(text);
DROP FUNCTION IF EXISTS grafana.threshold_level(double precision, real, real, real, real);
