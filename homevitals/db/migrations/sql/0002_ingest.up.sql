-- Schema additions owned by the ingest service (none yet).
SELECT 1;
