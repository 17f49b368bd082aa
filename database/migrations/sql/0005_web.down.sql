REVOKE SELECT ON grafana.care_overview FROM homevitals_api;
REVOKE USAGE ON SCHEMA grafana FROM homevitals_api;
DROP TRIGGER thresholds_history ON thresholds;
DROP FUNCTION record_threshold_history();
DROP TABLE threshold_history;
DROP TABLE web_sessions;
