-- Schema additions owned by the api service (none yet).
SELECT 1;
