-- Issue 18: dead letters say when they are cut, and a reading id that comes back with
-- other content is kept for inspection instead of being silently dropped.

ALTER TABLE dead_letters
  ADD COLUMN payload_bytes integer,                       -- size of the message as received
  ADD COLUMN payload_truncated boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN dead_letters.payload_truncated IS
  'true when payload holds only the first INGEST_MAX_DEAD_LETTER_BYTES of payload_bytes';

-- The first stored version wins (it stays in readings); each differing arrival is a row here.
CREATE TABLE reading_conflicts (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at    timestamptz NOT NULL DEFAULT now(),
  reading_id     uuid NOT NULL,
  gateway_id     text NOT NULL,
  batch_seq      bigint NOT NULL,
  stored         jsonb NOT NULL,   -- what readings holds (measured_at, values, status, raw)
  arrived        jsonb NOT NULL    -- the same fields from the message that disagreed
);
CREATE INDEX reading_conflicts_time ON reading_conflicts (received_at DESC);
CREATE INDEX reading_conflicts_reading ON reading_conflicts (reading_id);

GRANT SELECT, INSERT ON reading_conflicts TO homevitals_ingest;
GRANT SELECT ON reading_conflicts TO homevitals_api;
