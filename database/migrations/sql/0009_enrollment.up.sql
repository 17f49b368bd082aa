-- Issue 15: gateways are enrolled (broker credentials and a one-time code) and can be
-- revoked; each device is bound to the gateway that serves it; a reading that arrives
-- through another gateway, or through a revoked one, is stored but quarantined: never
-- attributed to a citizen, never alerted on, shown with its reason (docs/deployment.md).

ALTER TABLE gateways
  ADD COLUMN enrolled_at       timestamptz,
  ADD COLUMN enrolled_by       text,
  ADD COLUMN broker_username   text,
  ADD COLUMN broker_client_id  text,
  ADD COLUMN revoked_at        timestamptz,
  ADD COLUMN revoked_by        text;
COMMENT ON COLUMN gateways.revoked_at IS
  'Set by POST /gateways/{id}/revoke: the broker account is gone, and ingest quarantines '
  'whatever still arrives from this gateway (reason gateway_revoked).';

-- One row per issued code. Only a SHA-256 of the code is kept; the bundle (which holds the
-- broker password) is sealed with a key derived from the code (scrypt + AES-GCM), so the
-- database alone never reveals a password. Redeeming wipes the sealed bundle.
CREATE TABLE enrollment_codes (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  gateway_id      text NOT NULL REFERENCES gateways (gateway_id),
  code_hash       bytea NOT NULL UNIQUE,
  sealed_bundle   bytea,            -- NULL once redeemed or cancelled
  seal_salt       bytea NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  created_by      text NOT NULL,
  expires_at      timestamptz NOT NULL,
  redeemed_at     timestamptz,
  redeemed_from   text,             -- client address of the redeem call
  cancelled_at    timestamptz,      -- revoked gateway, or a new enrollment
  CHECK (redeemed_at IS NULL OR cancelled_at IS NULL)
);
CREATE INDEX enrollment_codes_gateway ON enrollment_codes (gateway_id);

-- Every redeem attempt, right or wrong: the rate limit counts them (across API workers)
-- and an operator can see guessing.
CREATE TABLE enrollment_attempts (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT clock_timestamp(),
  client_address  text,
  outcome         text NOT NULL CHECK (outcome IN ('redeemed', 'unknown', 'expired', 'used',
                                                   'cancelled', 'rate_limited')),
  gateway_id      text
);
CREATE INDEX enrollment_attempts_client ON enrollment_attempts (client_address, at DESC);
CREATE INDEX enrollment_attempts_at ON enrollment_attempts (at DESC);

-- Device binding -------------------------------------------------------------------------
ALTER TABLE devices
  ADD COLUMN bound_gateway_id text REFERENCES gateways (gateway_id),
  ADD COLUMN bound_at         timestamptz,
  ADD COLUMN bound_by         text;       -- 'ingest:reading', 'ingest:status' or 'admin:<sub>'
-- Devices already in use stay with the gateway they were last heard through.
UPDATE devices SET bound_gateway_id = last_gateway_id, bound_at = now(), bound_by = 'migration:0009'
WHERE last_gateway_id IS NOT NULL;

-- Quarantine -------------------------------------------------------------------------------
ALTER TABLE readings ADD COLUMN quarantine_reason text
  CHECK (quarantine_reason IN ('device_bound_to_other_gateway', 'gateway_revoked'));
COMMENT ON COLUMN readings.quarantine_reason IS
  'Not NULL: stored as received but never attributed (citizen_id stays NULL) nor alerted on.';
-- Few rows: the fleet dashboard counts them per gateway without scanning the hypertable.
CREATE INDEX readings_quarantined ON readings (gateway_id, measured_at DESC)
  WHERE quarantine_reason IS NOT NULL;

-- A quarantined reading is evidence, not a citizen's reading: a new assignment never picks
-- it up (an admin re-binds the device and releases it first: PUT /devices/{id}/gateway).
CREATE OR REPLACE FUNCTION assign_unassigned_readings(p_assignment_id bigint) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
  WITH assigned AS (
    UPDATE readings r
    SET citizen_id = a.citizen_id, assignment_id = a.id
    FROM device_assignments a
    WHERE a.id = p_assignment_id
      AND r.citizen_id IS NULL
      AND r.quarantine_reason IS NULL
      AND r.device_id = a.device_id
      AND coalesce(r.user_slot, 1) = a.user_slot
      AND r.measured_at >= lower(a.valid)
      AND (upper(a.valid) IS NULL OR r.measured_at < upper(a.valid))
    RETURNING 1
  )
  SELECT count(*) FROM assigned
$$;

-- Fleet: quarantined readings per gateway, and whether it is revoked (new columns at the end).
CREATE OR REPLACE VIEW grafana.gateway_overview AS
SELECT g.gateway_id, g.state, g.last_seen, g.status_at, g.version, g.uptime_s, g.outbox_depth,
       g.outbox_full, g.last_batch_seq,
       coalesce(d.devices, 0) AS devices, d.battery_min,
       coalesce(bg.missing, 0) AS missing_batches,
       coalesce(q.quarantined, 0) AS quarantined_readings,
       g.enrolled_at, g.revoked_at
FROM gateways g
LEFT JOIN (
  SELECT last_gateway_id, count(*) AS devices, min(battery_level) AS battery_min
  FROM devices GROUP BY last_gateway_id
) d ON d.last_gateway_id = g.gateway_id
LEFT JOIN (
  SELECT gateway_id, sum(missing - filled)::bigint AS missing FROM batch_gaps GROUP BY gateway_id
) bg ON bg.gateway_id = g.gateway_id
LEFT JOIN (
  SELECT gateway_id, count(*) AS quarantined FROM readings
  WHERE quarantine_reason IS NOT NULL GROUP BY gateway_id
) q ON q.gateway_id = g.gateway_id;

GRANT SELECT, INSERT, UPDATE ON enrollment_codes, enrollment_attempts TO homevitals_api;
GRANT SELECT ON enrollment_codes, enrollment_attempts TO homevitals_grafana;
