-- Schema additions owned by the ingest service (docs/ingest.md).

-- Retroactive attribution ------------------------------------------------------------------
-- Readings from a device nobody was assigned to are stored with citizen_id NULL. When staff
-- later create an assignment covering them, this one statement gives them to the citizen:
-- the same rule ingest applies on arrival (device, user slot with "no user id" = slot 1,
-- assignment range covering measured_at). Returns how many readings it assigned. Runs with
-- the caller's rights (the API's role may UPDATE readings). It does not raise alerts for
-- the readings it assigns: they are history, reviewed by whoever made the assignment.
CREATE FUNCTION assign_unassigned_readings(p_assignment_id bigint) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
  WITH assigned AS (
    UPDATE readings r
    SET citizen_id = a.citizen_id, assignment_id = a.id
    FROM device_assignments a
    WHERE a.id = p_assignment_id
      AND r.citizen_id IS NULL
      AND r.device_id = a.device_id
      AND coalesce(r.user_slot, 1) = a.user_slot
      AND r.measured_at >= lower(a.valid)
      AND (upper(a.valid) IS NULL OR r.measured_at < upper(a.valid))
    RETURNING 1
  )
  SELECT count(*) FROM assigned
$$;
COMMENT ON FUNCTION assign_unassigned_readings(bigint) IS
  'Attribute unassigned readings covered by this assignment; returns the number assigned.';
GRANT EXECUTE ON FUNCTION assign_unassigned_readings(bigint) TO homevitals_api;

-- Late batches ------------------------------------------------------------------------------
-- Several workers share the subscription, so a gateway's batches can commit out of order:
-- batch 7 may commit before batch 6, which records a gap that batch 6 fills a moment later.
-- Each late arrival is recorded once (primary key) against the gap it fills, and the gap's
-- `filled` counts them: `missing - filled` is what is really missing.
ALTER TABLE batch_gaps ADD COLUMN filled bigint NOT NULL DEFAULT 0;

CREATE TABLE batch_gap_fills (
  gateway_id  text NOT NULL,
  batch_seq   bigint NOT NULL,
  gap_id      bigint NOT NULL REFERENCES batch_gaps (id),
  filled_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, batch_seq)
);
CREATE INDEX batch_gaps_open ON batch_gaps (gateway_id, expected_seq, received_seq)
  WHERE filled < missing;

GRANT SELECT, INSERT ON batch_gap_fills TO homevitals_ingest;
GRANT UPDATE (filled) ON batch_gaps TO homevitals_ingest;
GRANT SELECT ON batch_gap_fills TO homevitals_api;

-- Columns added at the end keep the view compatible with its readers.
CREATE OR REPLACE VIEW grafana.batch_gaps AS
SELECT gateway_id, detected_at, expected_seq, received_seq, missing,
       filled, missing - filled AS still_missing
FROM batch_gaps;
