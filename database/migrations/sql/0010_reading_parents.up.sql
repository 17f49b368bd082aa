-- Issue 17: the three foreign keys of readings (device_id, citizen_id, assignment_id) cost
-- ingest about 15 us of PostgreSQL CPU per reading: each row ran three RI triggers, each a
-- SELECT ... FOR KEY SHARE on a parent row that the batch had just upserted or joined
-- (docs/benchmarks.md, "Database cost per reading (session 4)"). They are replaced by what
-- keeps the same guarantee, "a reading never points at a missing device, citizen or
-- assignment", at a cost per batch:
--
-- * parents: a referenced device, citizen or assignment can't be deleted or have its id
--   changed (the foreign keys' NO ACTION), and can't be truncated while readings exist. The
--   refusal is the foreign key's own: SQLSTATE 23503 and the detail 'Key (id)=(..) is still
--   referenced from table "readings".', so callers (the API's DELETE /citizens) see no change.
--   A statement-level trigger first takes SHARE on readings, which waits for every writer in
--   flight (they hold ROW EXCLUSIVE) and holds new ones until the delete commits: so the
--   row check sees every reading that can point at the row, without row locks per reading.
-- * readings: a row trigger checks the three parents of each row that any writer inserts or
--   re-points (the API, operators, test seeds, COPY), as the foreign keys did. Ingest's
--   connection switches it off (homevitals.reading_parents = 'batched', like the summaries
--   trigger of 0007): its one readings statement per batch takes device_id from an inner
--   join on devices and citizen_id/assignment_id from a join on device_assignments (whose
--   own foreign key keeps the citizen), in the same snapshot, so its rows point at parents
--   that exist, and the SHARE barrier above keeps them from being deleted before commit.

ALTER TABLE readings DROP CONSTRAINT readings_device_id_fkey;
ALTER TABLE readings DROP CONSTRAINT readings_citizen_id_fkey;
ALTER TABLE readings DROP CONSTRAINT readings_assignment_id_fkey;

CREATE FUNCTION reading_parents_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM devices WHERE id = NEW.device_id) THEN
    RAISE foreign_key_violation USING
      MESSAGE = 'insert or update on table "readings" violates foreign key constraint "readings_device_id_fkey"',
      DETAIL = format('Key (device_id)=(%s) is not present in table "devices".', NEW.device_id),
      TABLE = 'readings', CONSTRAINT = 'readings_device_id_fkey';
  END IF;
  IF NEW.citizen_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM citizens WHERE id = NEW.citizen_id) THEN
    RAISE foreign_key_violation USING
      MESSAGE = 'insert or update on table "readings" violates foreign key constraint "readings_citizen_id_fkey"',
      DETAIL = format('Key (citizen_id)=(%s) is not present in table "citizens".', NEW.citizen_id),
      TABLE = 'readings', CONSTRAINT = 'readings_citizen_id_fkey';
  END IF;
  IF NEW.assignment_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM device_assignments WHERE id = NEW.assignment_id) THEN
    RAISE foreign_key_violation USING
      MESSAGE = 'insert or update on table "readings" violates foreign key constraint "readings_assignment_id_fkey"',
      DETAIL = format('Key (assignment_id)=(%s) is not present in table "device_assignments".',
                      NEW.assignment_id),
      TABLE = 'readings', CONSTRAINT = 'readings_assignment_id_fkey';
  END IF;
  RETURN NEW;
END
$$;

-- The WHEN clause is evaluated without entering PL/pgSQL: ingest's rows cost next to nothing.
CREATE TRIGGER readings_parents
BEFORE INSERT OR UPDATE OF device_id, citizen_id, assignment_id ON readings
FOR EACH ROW
WHEN (current_setting('homevitals.reading_parents', true) IS DISTINCT FROM 'batched')
EXECUTE FUNCTION reading_parents_check();

-- Before any parent row is deleted or re-keyed: wait for the readings writers in flight.
CREATE FUNCTION reading_parents_barrier() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  LOCK TABLE readings IN SHARE MODE;
  RETURN NULL;
END
$$;

CREATE FUNCTION reading_parents_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  referenced boolean;
  fk text;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
    RETURN NEW;
  END IF;
  CASE TG_TABLE_NAME
    WHEN 'devices' THEN
      referenced := EXISTS (SELECT 1 FROM readings WHERE device_id = OLD.id);
      fk := 'readings_device_id_fkey';
    WHEN 'citizens' THEN
      referenced := EXISTS (SELECT 1 FROM readings WHERE citizen_id = OLD.id);
      fk := 'readings_citizen_id_fkey';
    WHEN 'device_assignments' THEN
      referenced := EXISTS (SELECT 1 FROM readings WHERE assignment_id = OLD.id);
      fk := 'readings_assignment_id_fkey';
  END CASE;
  IF referenced THEN
    RAISE foreign_key_violation USING
      MESSAGE = format('update or delete on table "%s" violates foreign key constraint "%s" on table "readings"',
                       TG_TABLE_NAME, fk),
      DETAIL = format('Key (id)=(%s) is still referenced from table "readings".', OLD.id),
      TABLE = 'readings', CONSTRAINT = fk;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END
$$;

CREATE FUNCTION reading_parents_truncate_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM readings) THEN
    RAISE feature_not_supported USING
      MESSAGE = format('cannot truncate table "%s": readings reference it', TG_TABLE_NAME),
      HINT = 'Truncate readings first, in an earlier statement.';
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER devices_reading_parents_barrier BEFORE DELETE OR UPDATE OF id ON devices
FOR EACH STATEMENT EXECUTE FUNCTION reading_parents_barrier();
CREATE TRIGGER devices_reading_parents_guard BEFORE DELETE OR UPDATE OF id ON devices
FOR EACH ROW EXECUTE FUNCTION reading_parents_guard();
CREATE TRIGGER devices_reading_parents_truncate BEFORE TRUNCATE ON devices
FOR EACH STATEMENT EXECUTE FUNCTION reading_parents_truncate_guard();

CREATE TRIGGER citizens_reading_parents_barrier BEFORE DELETE OR UPDATE OF id ON citizens
FOR EACH STATEMENT EXECUTE FUNCTION reading_parents_barrier();
CREATE TRIGGER citizens_reading_parents_guard BEFORE DELETE OR UPDATE OF id ON citizens
FOR EACH ROW EXECUTE FUNCTION reading_parents_guard();
CREATE TRIGGER citizens_reading_parents_truncate BEFORE TRUNCATE ON citizens
FOR EACH STATEMENT EXECUTE FUNCTION reading_parents_truncate_guard();

CREATE TRIGGER device_assignments_reading_parents_barrier BEFORE DELETE OR UPDATE OF id ON device_assignments
FOR EACH STATEMENT EXECUTE FUNCTION reading_parents_barrier();
CREATE TRIGGER device_assignments_reading_parents_guard BEFORE DELETE OR UPDATE OF id ON device_assignments
FOR EACH ROW EXECUTE FUNCTION reading_parents_guard();
CREATE TRIGGER device_assignments_reading_parents_truncate BEFORE TRUNCATE ON device_assignments
FOR EACH STATEMENT EXECUTE FUNCTION reading_parents_truncate_guard();

COMMENT ON TRIGGER readings_parents ON readings IS
  'Replaces the foreign keys to devices, citizens and device_assignments (migration 0010); '
  'ingest checks them per batch instead (homevitals.reading_parents = batched).';
