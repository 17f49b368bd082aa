-- Undo 0002_ingest.up.sql.
DROP VIEW grafana.batch_gaps;
CREATE VIEW grafana.batch_gaps AS
SELECT gateway_id, detected_at, expected_seq, received_seq, missing FROM batch_gaps;
GRANT SELECT ON grafana.batch_gaps TO homevitals_grafana;

DROP TABLE batch_gap_fills;
DROP INDEX batch_gaps_open;
ALTER TABLE batch_gaps DROP COLUMN filled;

DROP FUNCTION assign_unassigned_readings(bigint);
