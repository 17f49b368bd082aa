-- Schema additions owned by the web app (docs/web.md).

-- Login sessions of the web app, kept server-side so that logout (or an administrator)
-- ends a session at once. The cookie carries a random token; only its SHA-256 is stored,
-- so a copy of this table opens no session. The principal is what the login established
-- (OpenID Connect claims or the development login), with the same fields as a token.
CREATE TABLE web_sessions (
  token_sha256  bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
  sub           text NOT NULL,
  role          text NOT NULL CHECK (role IN ('citizen', 'caregiver', 'clinician', 'admin')),
  team          text,
  citizen_id    bigint,
  csrf_token    text NOT NULL,
  login_method  text NOT NULL CHECK (login_method IN ('oidc', 'development')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- Every change to a citizen's personal thresholds, old and new values, by whom: the
-- history beside the threshold form. Written by a trigger, so the API's PUT and any
-- other writer are recorded alike.
CREATE TABLE threshold_history (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  citizen_id  bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
  metric      text NOT NULL,
  change      text NOT NULL CHECK (change IN ('set', 'changed', 'removed')),
  alert_low   real,
  warn_low    real,
  warn_high   real,
  alert_high  real,
  changed_by  text NOT NULL,
  changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX threshold_history_citizen ON threshold_history (citizen_id, changed_at DESC);

-- The actor is the API caller (set_config('homevitals.actor', sub, true) in the writing
-- transaction); a writer that sets none is recorded by its database role.
CREATE FUNCTION record_threshold_history() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  actor text := coalesce(nullif(current_setting('homevitals.actor', true), ''), current_user);
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO threshold_history (citizen_id, metric, change, changed_by)
    VALUES (OLD.citizen_id, OLD.metric, 'removed', actor);
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW.alert_low, NEW.warn_low, NEW.warn_high, NEW.alert_high)
       IS NOT DISTINCT FROM (OLD.alert_low, OLD.warn_low, OLD.warn_high, OLD.alert_high) THEN
    RETURN NEW;
  END IF;
  INSERT INTO threshold_history
    (citizen_id, metric, change, alert_low, warn_low, warn_high, alert_high, changed_by)
  VALUES (NEW.citizen_id, NEW.metric, CASE TG_OP WHEN 'INSERT' THEN 'set' ELSE 'changed' END,
          NEW.alert_low, NEW.warn_low, NEW.warn_high, NEW.alert_high, actor);
  RETURN NEW;
END
$$;

CREATE TRIGGER thresholds_history
AFTER INSERT OR UPDATE OR DELETE ON thresholds
FOR EACH ROW EXECUTE FUNCTION record_threshold_history();

GRANT SELECT, INSERT, UPDATE, DELETE ON web_sessions TO homevitals_api;
GRANT SELECT, INSERT ON threshold_history TO homevitals_api;
-- The staff's "I dag" page ranks citizens with the same view as Grafana's care overview.
GRANT USAGE ON SCHEMA grafana TO homevitals_api;
GRANT SELECT ON grafana.care_overview TO homevitals_api;
