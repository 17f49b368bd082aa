DROP INDEX IF EXISTS alerts_citizen_opened;
DROP INDEX IF EXISTS audit_log_at;
DROP INDEX IF EXISTS audit_log_citizen_ids;
