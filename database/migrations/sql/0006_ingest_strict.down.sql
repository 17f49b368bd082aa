DROP TABLE reading_conflicts;
ALTER TABLE dead_letters DROP COLUMN payload_truncated, DROP COLUMN payload_bytes;
