-- Schema additions owned by the dashboards service (none yet).
SELECT 1;
