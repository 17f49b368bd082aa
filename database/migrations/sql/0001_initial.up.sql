-- homevitals initial schema. Runs on the Apache-2 build of TimescaleDB: it uses only
-- hypertables, time_bucket and drop_chunks. See docs/database.md.

CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE EXTENSION IF NOT EXISTS btree_gist;  -- equality on bigint inside the exclusion constraint

-- Roles. NOLOGIN groups; deployments grant them to login users (docs/database.md).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'homevitals_ingest') THEN
    CREATE ROLE homevitals_ingest NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'homevitals_api') THEN
    CREATE ROLE homevitals_api NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'homevitals_grafana') THEN
    CREATE ROLE homevitals_grafana NOLOGIN;
  END IF;
END
$$;

-- Citizens ------------------------------------------------------------------------------
CREATE TABLE citizens (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  cpr           text UNIQUE CHECK (cpr ~ '^[0-9]{6}-?[0-9]{4}$'),
  given_name    text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
  family_name   text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
  birth_date    date,
  care_team     text NOT NULL CHECK (length(care_team) BETWEEN 1 AND 100),
  timezone      text NOT NULL DEFAULT 'Europe/Copenhagen',
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX citizens_care_team ON citizens (care_team);
COMMENT ON COLUMN citizens.cpr IS 'Danish CPR number: a direct identifier. Never exposed to Grafana.';

-- Gateways and devices ------------------------------------------------------------------
CREATE TABLE gateways (
  gateway_id      text PRIMARY KEY CHECK (gateway_id ~ '^[a-z0-9][a-z0-9-]{2,63}$'),
  description     text,
  first_seen      timestamptz NOT NULL DEFAULT now(),
  last_seen       timestamptz,
  state           text NOT NULL DEFAULT 'unknown' CHECK (state IN ('online', 'offline', 'unknown')),
  version         text,
  uptime_s        double precision,
  outbox_depth    integer,
  outbox_full     boolean NOT NULL DEFAULT false,
  status          jsonb,
  status_at       timestamptz,
  last_batch_seq  bigint
);

CREATE TABLE devices (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  address        text NOT NULL UNIQUE CHECK (address ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){5}$'),
  kind           text,
  serial         text,
  manufacturer   text,
  model          text,
  firmware       text,
  battery_level  smallint CHECK (battery_level BETWEEN 0 AND 100),
  battery_at     timestamptz,
  first_seen     timestamptz NOT NULL DEFAULT now(),
  last_seen      timestamptz NOT NULL DEFAULT now(),
  last_gateway_id text REFERENCES gateways (gateway_id)
);

-- Which citizen owns which device and user slot, over which time range.
-- Devices that report no user id count as user slot 1 (docs/database.md).
CREATE TABLE device_assignments (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id   bigint NOT NULL REFERENCES devices (id),
  user_slot   smallint NOT NULL DEFAULT 1 CHECK (user_slot BETWEEN 0 AND 255),
  citizen_id  bigint NOT NULL REFERENCES citizens (id),
  valid       tstzrange NOT NULL CHECK (NOT isempty(valid) AND lower(valid) IS NOT NULL),
  created_by  text NOT NULL DEFAULT current_user,
  created_at  timestamptz NOT NULL DEFAULT now(),
  ended_by    text,
  ended_at    timestamptz,
  CONSTRAINT device_assignments_no_overlap
    EXCLUDE USING gist (device_id WITH =, user_slot WITH =, valid WITH &&)
);
CREATE INDEX device_assignments_citizen ON device_assignments (citizen_id);

-- Readings ------------------------------------------------------------------------------
-- The dedup ledger: one row per reading_id ever stored. The hypertable's unique index has
-- to include the time column, so it cannot stop the same reading_id arriving again with a
-- different measured_at; this plain table can. Insert here first (ON CONFLICT DO NOTHING
-- RETURNING), then into readings only what was new: see ingest/writer.py.
CREATE TABLE reading_ids (
  reading_id   uuid PRIMARY KEY,
  measured_at  timestamptz NOT NULL,
  stored_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE readings (
  measured_at             timestamptz NOT NULL,
  reading_id              uuid NOT NULL,
  kind                    text NOT NULL
    CHECK (kind IN ('blood_pressure', 'weight', 'glucose', 'temperature', 'pulse_oximetry')),
  device_id               bigint NOT NULL REFERENCES devices (id),
  user_slot               smallint,
  citizen_id              bigint REFERENCES citizens (id),   -- NULL: unassigned
  assignment_id           bigint REFERENCES device_assignments (id),
  gateway_id              text NOT NULL,
  batch_seq               bigint,
  device_time             timestamp,                          -- device clock, as reported
  gateway_time            timestamptz NOT NULL,               -- gateway clock on arrival
  time_source             text NOT NULL CHECK (time_source IN ('device', 'device_corrected', 'gateway')),
  received_at             timestamptz NOT NULL DEFAULT now(), -- hub commit time
  unit                    text NOT NULL,                      -- canonical unit
  original_unit           text,                               -- as the device sent it
  -- Canonical values. Blood pressure and pulse have their own columns because every
  -- report and dashboard reads them; other kinds keep their main value in `value`.
  systolic                real,
  diastolic               real,
  mean_arterial_pressure  real,
  pulse_rate              real,
  value                   double precision,
  "values"                jsonb NOT NULL,
  status                  jsonb,
  invalid_values          text[] NOT NULL DEFAULT '{}',
  implausible             boolean NOT NULL DEFAULT false,
  implausible_reasons     text[] NOT NULL DEFAULT '{}',
  clock_in_future         boolean NOT NULL DEFAULT false,
  raw_uuid                text NOT NULL,
  raw                     bytea NOT NULL
);
SELECT create_hypertable('readings', 'measured_at', chunk_time_interval => interval '7 days');
CREATE UNIQUE INDEX readings_reading_id ON readings (reading_id, measured_at);
CREATE INDEX readings_citizen_time ON readings (citizen_id, kind, measured_at DESC);
CREATE INDEX readings_device_time ON readings (device_id, user_slot, measured_at DESC);
CREATE INDEX readings_unassigned ON readings (measured_at DESC) WHERE citizen_id IS NULL;

-- Home-BP sessions in the citizen's local time (docs/home-bp-report.md): morning is
-- 04:00-11:59, evening 16:00-23:59; readings outside both belong to no session.
CREATE FUNCTION bp_session(ts timestamptz, tz text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN extract(hour FROM ts AT TIME ZONE tz) BETWEEN 4 AND 11 THEN 'morning'
    WHEN extract(hour FROM ts AT TIME ZONE tz) BETWEEN 16 AND 23 THEN 'evening'
  END
$$;

-- Thresholds ----------------------------------------------------------------------------
CREATE TABLE default_thresholds (
  metric      text PRIMARY KEY,
  unit        text NOT NULL,
  alert_low   real NOT NULL,
  warn_low    real NOT NULL,
  warn_high   real NOT NULL,
  alert_high  real NOT NULL,
  CHECK (alert_low < warn_low AND warn_low < warn_high AND warn_high < alert_high)
);
-- Care-plan defaults (docs/database.md): home BP limits follow ESH 2023 (135/85 mmHg).
INSERT INTO default_thresholds VALUES
  ('systolic',    'mmHg',   90,  100,   135,  160),
  ('diastolic',   'mmHg',   50,   60,    85,  100),
  ('pulse_rate',  '/min',   40,   50,   100,  120),
  ('weight',      'kg',     35,   40,   150,  200),
  ('glucose',     'mmol/L', 3.0, 4.0,   10.0, 15.0),
  ('temperature', 'Cel',    35.0, 36.0, 37.8, 39.0),
  ('spo2',        '%',      88,   92,  100.5,  101);

CREATE TABLE thresholds (
  citizen_id  bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
  metric      text NOT NULL REFERENCES default_thresholds (metric),
  alert_low   real NOT NULL,
  warn_low    real NOT NULL,
  warn_high   real NOT NULL,
  alert_high  real NOT NULL,
  updated_by  text NOT NULL DEFAULT current_user,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (citizen_id, metric),
  CHECK (alert_low < warn_low AND warn_low < warn_high AND warn_high < alert_high)
);

-- A citizen's thresholds: their own where set, else the care-plan default.
CREATE VIEW effective_thresholds AS
SELECT c.id AS citizen_id, d.metric, d.unit,
       coalesce(t.alert_low, d.alert_low)   AS alert_low,
       coalesce(t.warn_low, d.warn_low)     AS warn_low,
       coalesce(t.warn_high, d.warn_high)   AS warn_high,
       coalesce(t.alert_high, d.alert_high) AS alert_high,
       (t.citizen_id IS NOT NULL)           AS personal
FROM citizens c
CROSS JOIN default_thresholds d
LEFT JOIN thresholds t ON t.citizen_id = c.id AND t.metric = d.metric;

-- Alerts --------------------------------------------------------------------------------
CREATE TABLE alerts (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  citizen_id       bigint NOT NULL REFERENCES citizens (id),
  alert_type       text NOT NULL DEFAULT 'threshold' CHECK (alert_type IN ('threshold', 'missing_measurements')),
  metric           text NOT NULL,
  level            text NOT NULL CHECK (level IN ('warning', 'alert')),
  state            text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
  reading_id       uuid,
  measured_at      timestamptz,
  value            double precision,
  message          text NOT NULL,
  opened_at        timestamptz NOT NULL DEFAULT now(),
  acknowledged_at  timestamptz,
  acknowledged_by  text,
  resolved_at      timestamptz,
  resolved_by      text,
  note             text,
  CHECK ((state = 'open') OR (acknowledged_at IS NOT NULL OR resolved_at IS NOT NULL))
);
-- At most one unresolved alert per citizen, metric and level.
CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (citizen_id, metric, level) WHERE state <> 'resolved';
CREATE INDEX alerts_state ON alerts (state, opened_at DESC);

-- Audit log: append-only, enforced by the database -------------------------------------
CREATE TABLE audit_log (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor           text NOT NULL,
  role            text NOT NULL,
  action          text NOT NULL,
  citizen_id      bigint,
  resource        text NOT NULL,
  request_id      text,
  client_address  text,
  outcome         text NOT NULL DEFAULT 'ok',
  details         jsonb
);
CREATE INDEX audit_log_citizen ON audit_log (citizen_id, at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);

CREATE FUNCTION audit_log_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit rows are evidence; correct a mistake by appending a new row.';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();

-- Dead letters: every rejected message, with its raw bytes and the reason ---------------
CREATE TABLE dead_letters (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at  timestamptz NOT NULL DEFAULT now(),
  topic        text NOT NULL,
  gateway_id   text,
  reason       text NOT NULL,   -- machine-readable code, e.g. 'invalid_json'
  detail       text NOT NULL,   -- human-readable explanation
  payload      bytea NOT NULL
);
CREATE INDEX dead_letters_time ON dead_letters (received_at DESC);

-- Gaps in a gateway's batch_seq ---------------------------------------------------------
CREATE TABLE batch_gaps (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  gateway_id    text NOT NULL,
  detected_at   timestamptz NOT NULL DEFAULT now(),
  expected_seq  bigint NOT NULL,
  received_seq  bigint NOT NULL,
  missing       bigint NOT NULL
);
CREATE INDEX batch_gaps_gateway ON batch_gaps (gateway_id, detected_at DESC);

-- Grafana: a separate schema of views without direct identifiers -------------------------
-- No CPR, no family name, no birth date, no raw bytes, no dead-letter payloads.
CREATE SCHEMA grafana;

CREATE VIEW grafana.citizens AS
SELECT id AS citizen_id,
       given_name || ' ' || left(family_name, 1) || '.' AS label,
       care_team, timezone, active
FROM citizens;

CREATE VIEW grafana.readings AS
SELECT measured_at, reading_id, kind, citizen_id, device_id, user_slot, gateway_id, batch_seq,
       device_time, gateway_time, time_source, received_at, unit, original_unit,
       systolic, diastolic, mean_arterial_pressure, pulse_rate, value, status,
       invalid_values, implausible, implausible_reasons, clock_in_future
FROM readings;

CREATE VIEW grafana.devices AS
SELECT id AS device_id, address, kind, manufacturer, model, firmware, battery_level, battery_at,
       first_seen, last_seen, last_gateway_id
FROM devices;

CREATE VIEW grafana.device_assignments AS
SELECT id AS assignment_id, device_id, user_slot, citizen_id, lower(valid) AS valid_from,
       upper(valid) AS valid_to
FROM device_assignments;

CREATE VIEW grafana.gateways AS
SELECT gateway_id, first_seen, last_seen, state, version, uptime_s, outbox_depth, outbox_full,
       status_at, last_batch_seq
FROM gateways;

CREATE VIEW grafana.thresholds AS SELECT * FROM effective_thresholds;

CREATE VIEW grafana.alerts AS
SELECT id AS alert_id, citizen_id, alert_type, metric, level, state, measured_at, value, message,
       opened_at, acknowledged_at, resolved_at
FROM alerts;

CREATE VIEW grafana.dead_letters AS
SELECT id AS dead_letter_id, received_at, topic, gateway_id, reason, detail,
       octet_length(payload) AS payload_bytes
FROM dead_letters;

CREATE VIEW grafana.batch_gaps AS
SELECT gateway_id, detected_at, expected_seq, received_seq, missing FROM batch_gaps;

-- Privileges ----------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA grafana TO homevitals_grafana;
GRANT SELECT ON ALL TABLES IN SCHEMA grafana TO homevitals_grafana;
-- Functions such as time_bucket come from the timescaledb extension in public.
GRANT USAGE ON SCHEMA public TO homevitals_grafana, homevitals_ingest, homevitals_api;

GRANT SELECT, INSERT ON reading_ids, readings, dead_letters, batch_gaps TO homevitals_ingest;
GRANT SELECT, INSERT, UPDATE ON gateways, devices TO homevitals_ingest;
GRANT UPDATE ON readings TO homevitals_ingest;
GRANT SELECT ON citizens, device_assignments, thresholds, default_thresholds, effective_thresholds
  TO homevitals_ingest;
GRANT SELECT, INSERT, UPDATE ON alerts TO homevitals_ingest;

GRANT SELECT, INSERT, UPDATE, DELETE ON citizens, device_assignments, thresholds TO homevitals_api;
GRANT SELECT, INSERT, UPDATE ON devices, gateways, alerts TO homevitals_api;
GRANT SELECT, UPDATE ON readings TO homevitals_api;
GRANT SELECT ON reading_ids, default_thresholds, effective_thresholds, dead_letters, batch_gaps
  TO homevitals_api;
GRANT SELECT, INSERT ON audit_log TO homevitals_api;
