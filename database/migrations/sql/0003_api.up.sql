-- Schema additions owned by the api service (docs/api.md, "Audit").

-- A citizen's access log finds the requests about them (audit_log.citizen_id, indexed in
-- 0001) and the list requests whose answer included them (details.citizen_ids).
CREATE INDEX audit_log_citizen_ids ON audit_log USING gin ((details -> 'citizen_ids'));
-- The admin query pages through the whole log by time.
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
-- Alerts of one citizen, newest first (list filtered by citizen).
CREATE INDEX alerts_citizen_opened ON alerts (citizen_id, opened_at DESC);
