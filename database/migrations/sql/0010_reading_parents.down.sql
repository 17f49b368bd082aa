DROP TRIGGER device_assignments_reading_parents_truncate ON device_assignments;
DROP TRIGGER device_assignments_reading_parents_guard ON device_assignments;
DROP TRIGGER device_assignments_reading_parents_barrier ON device_assignments;
DROP TRIGGER citizens_reading_parents_truncate ON citizens;
DROP TRIGGER citizens_reading_parents_guard ON citizens;
DROP TRIGGER citizens_reading_parents_barrier ON citizens;
DROP TRIGGER devices_reading_parents_truncate ON devices;
DROP TRIGGER devices_reading_parents_guard ON devices;
DROP TRIGGER devices_reading_parents_barrier ON devices;
DROP TRIGGER readings_parents ON readings;
DROP FUNCTION reading_parents_truncate_guard();
DROP FUNCTION reading_parents_guard();
DROP FUNCTION reading_parents_barrier();
DROP FUNCTION reading_parents_check();

-- Validates every stored reading against its parents again (fails loudly if one is missing).
ALTER TABLE readings ADD CONSTRAINT readings_device_id_fkey FOREIGN KEY (device_id) REFERENCES devices (id);
ALTER TABLE readings ADD CONSTRAINT readings_citizen_id_fkey FOREIGN KEY (citizen_id) REFERENCES citizens (id);
ALTER TABLE readings ADD CONSTRAINT readings_assignment_id_fkey
  FOREIGN KEY (assignment_id) REFERENCES device_assignments (id);
