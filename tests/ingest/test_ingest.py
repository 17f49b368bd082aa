"""Ingest through the real broker into the real TimescaleDB, with an in-process worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from homevitals.contract import readings_topic, utc_text
from ingest.alerts import MissingMeasurementsRule, run_periodic
from ingest.envelope import Envelope
from ingest.validation import validate_message
from tests.ingest.helpers import batch, encode, reading, settings_for, unique_gateway
from tests.support.database import count, wait_for_count
from tests.support.factories import insert_assignment, insert_citizen, insert_device
from tests.support.waiting import wait_until

NOW = datetime.now(UTC).replace(microsecond=0)


def sample(service, name: str, **labels: str) -> float | None:
    return service.metrics.registry.get_sample_value(name, labels)


def _address() -> str:
    return "02:AB:" + ":".join(f"{b:02X}" for b in uuid.uuid4().bytes[:4])


def test_a_duplicate_message_yields_one_row(db_dsn, mosquitto, publisher, start_service):
    service = start_service(settings_for(db_dsn, mosquitto.port))
    gateway, other = unique_gateway(), unique_gateway()
    r = reading()
    message = batch(gateway, [r, r], batch_seq=1)  # even twice inside one message
    publisher.readings(message)
    publisher.readings(message)  # a redelivery
    publisher.readings(batch(other, [r], batch_seq=1))  # the same record read by another gateway
    publisher.wait_acked(3)
    wait_until(lambda: sample(service, "ingest_readings_duplicate_total") >= 3, 20, "three duplicates")
    assert count(db_dsn, "SELECT count(*) FROM readings WHERE reading_id = %s", r["reading_id"]) == 1
    assert count(db_dsn, "SELECT count(*) FROM reading_ids") == 1
    assert sample(service, "ingest_readings_stored_total") == 1
    assert count(db_dsn, "SELECT count(*) FROM reading_conflicts") == 0  # identical: no conflict


def test_the_same_reading_id_with_another_measured_at_yields_one_row(
    db_dsn, mosquitto, publisher, start_service
):
    service = start_service(settings_for(db_dsn, mosquitto.port))
    gateway = unique_gateway()
    first = reading(measured_at=NOW - timedelta(hours=2))
    corrected = dict(first, measured_at=(NOW - timedelta(hours=1, minutes=58)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    publisher.readings(batch(gateway, [first], batch_seq=1))
    publisher.readings(batch(gateway, [corrected], batch_seq=2))
    wait_until(lambda: sample(service, "ingest_readings_duplicate_total") == 1, 20, "the duplicate")
    with psycopg.connect(db_dsn) as conn:
        rows = conn.execute(
            "SELECT measured_at FROM readings WHERE reading_id = %s", (first["reading_id"],)
        ).fetchall()
    assert rows == [(NOW - timedelta(hours=2),)]  # the first one stays


def test_a_reading_id_with_other_content_keeps_the_first_and_records_the_conflict(
    db_dsn, mosquitto, publisher, start_service
):
    start_service(settings_for(db_dsn, mosquitto.port))
    gateway = unique_gateway()
    first = reading(systolic=121)
    second = dict(first, values=dict(first["values"], systolic=181))  # same id, other value
    publisher.readings(batch(gateway, [first], batch_seq=1))
    publisher.wait_acked(1)
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 1)
    publisher.readings(batch(gateway, [second], batch_seq=2))
    wait_for_count(db_dsn, "SELECT count(*) FROM reading_conflicts", 1)
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT systolic FROM readings").fetchall() == [(121,)]
        stored, arrived, seq = conn.execute(
            "SELECT stored, arrived, batch_seq FROM reading_conflicts WHERE reading_id = %s",
            (first["reading_id"],),
        ).fetchone()
    assert stored["values"]["systolic"] == 121 and arrived["values"]["systolic"] == 181
    assert seq == 2


def test_a_large_dead_letter_is_kept_whole_up_to_the_cap_and_says_when_cut(
    db_dsn, mosquitto, publisher, start_service
):
    start_service(settings_for(db_dsn, mosquitto.port, max_payload_bytes=4096, max_dead_letter_bytes=8192))
    gateway = unique_gateway()
    over_limit = b'{"x": "' + b"a" * 6000 + b'"}'  # refused as too large, kept whole
    far_over = b'{"x": "' + b"b" * 20000 + b'"}'  # beyond the dead-letter cap: cut, and says so
    publisher.publish(readings_topic(gateway), over_limit)
    publisher.publish(readings_topic(gateway), far_over)
    wait_for_count(db_dsn, "SELECT count(*) FROM dead_letters", 2)
    with psycopg.connect(db_dsn) as conn:
        rows = conn.execute(
            "SELECT reason, payload, payload_bytes, payload_truncated FROM dead_letters ORDER BY id"
        ).fetchall()
    assert rows[0][0] == "payload_too_large" and bytes(rows[0][1]) == over_limit
    assert (rows[0][2], rows[0][3]) == (len(over_limit), False)
    assert bytes(rows[1][1]) == far_over[:8192]
    assert (rows[1][2], rows[1][3]) == (len(far_over), True)


def test_bad_messages_are_dead_lettered_and_do_not_stop_the_ones_behind(
    db_dsn, mosquitto, publisher, start_service
):
    service = start_service(settings_for(db_dsn, mosquitto.port))
    gateway, impostor = unique_gateway(), unique_gateway()
    wrong_type = batch(gateway, [reading()], batch_seq=2)
    wrong_type["readings"][0]["values"]["systolic"] = "high"
    future_schema = batch(gateway, [reading()], batch_seq=3)
    future_schema["schema"] = "homevitals.readings.v9"
    bad = [
        (readings_topic(gateway), b'{"schema": "homevitals.readings.v1", "gateway_id": '),
        (readings_topic(gateway), encode(wrong_type)),
        (readings_topic(gateway), encode(future_schema)),
        (readings_topic(impostor), encode(batch(gateway, [reading()], batch_seq=4))),
    ]
    for topic, payload in bad:
        publisher.publish(topic, payload)
    good = reading()
    publisher.readings(batch(gateway, [good], batch_seq=5))
    wait_for_count(db_dsn, "SELECT count(*) FROM dead_letters", 4)
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 1)
    with psycopg.connect(db_dsn) as conn:
        letters = conn.execute(
            "SELECT topic, gateway_id, reason, detail, payload FROM dead_letters ORDER BY id"
        ).fetchall()
    assert [(t, g, reason) for t, g, reason, _, _ in letters] == [
        (readings_topic(gateway), gateway, "invalid_json"),
        (readings_topic(gateway), gateway, "schema_violation"),
        (readings_topic(gateway), gateway, "unknown_schema"),
        (readings_topic(impostor), impostor, "gateway_mismatch"),
    ]
    assert [bytes(p) for *_, p in letters] == [p for _, p in bad]  # the raw bytes, exactly
    assert "systolic" in letters[1][3]
    assert count(db_dsn, "SELECT count(*) FROM readings WHERE reading_id = %s", good["reading_id"]) == 1
    assert sample(service, "ingest_messages_dead_lettered_total", reason="gateway_mismatch") == 1


def test_implausible_values_are_stored_and_flagged(db_dsn, mosquitto, publisher, start_service):
    start_service(settings_for(db_dsn, mosquitto.port))
    r = reading(systolic=350, diastolic=80)
    ahead = reading(measured_at=datetime.now(UTC) + timedelta(hours=2))
    publisher.readings(batch(unique_gateway(), [r, ahead]))
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 2)
    with psycopg.connect(db_dsn) as conn:
        flags = {
            rid: rest
            for rid, *rest in conn.execute(
                "SELECT reading_id::text, implausible, implausible_reasons, clock_in_future, systolic FROM readings"
            )
        }
    assert flags[r["reading_id"]] == [True, ["systolic_high"], False, 350.0]
    assert flags[ahead["reading_id"]] == [False, [], True, 128.0]


def test_an_unknown_device_yields_an_unassigned_reading_and_a_device_row(
    db_dsn, mosquitto, publisher, start_service
):
    start_service(settings_for(db_dsn, mosquitto.port))
    gateway, address = unique_gateway(), _address()
    r = reading(address=address.lower(), battery=64)
    publisher.readings(batch(gateway, [r]))
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 1)
    with psycopg.connect(db_dsn) as conn:
        citizen, assignment = conn.execute("SELECT citizen_id, assignment_id FROM readings").fetchone()
        device = conn.execute(
            "SELECT serial, model, manufacturer, firmware, battery_level, last_gateway_id, first_seen <= last_seen "
            "FROM devices WHERE address = %s",
            (address,),
        ).fetchone()
    assert (citizen, assignment) == (None, None)
    assert device == ("5081234", "UA-651BLE", "A&D Medical", "1.2", 64, gateway, True)


def test_attribution_follows_the_assignment_time_range(db_dsn, mosquitto, publisher, start_service):
    address = _address()
    t0 = NOW - timedelta(days=10)
    with psycopg.connect(db_dsn) as conn:
        anna, bent = insert_citizen(conn, family="Anna"), insert_citizen(conn, family="Bent")
        device = insert_device(conn, address)
        first = insert_assignment(conn, device, anna, start=t0, end=t0 + timedelta(days=5))
        second = insert_assignment(conn, device, bent, start=t0 + timedelta(days=5))
        slot2 = insert_assignment(conn, device, bent, start=t0, end=None, slot=2)
    start_service(settings_for(db_dsn, mosquitto.port))
    cases = {
        "before any": (t0 - timedelta(hours=1), 1, None),
        "start is inside": (t0, 1, first),
        "during the first": (t0 + timedelta(days=4, hours=23), 1, first),
        "end belongs to the next": (t0 + timedelta(days=5), 1, second),
        "no user id counts as slot 1": (t0 + timedelta(days=1), None, first),
        "user slot 2": (t0 + timedelta(days=1), 2, slot2),
        "user slot 3": (t0 + timedelta(days=1), 3, None),
    }
    readings = {
        name: reading(measured_at=at, address=address, user_id=slot) for name, (at, slot, _) in cases.items()
    }
    publisher.readings(batch(unique_gateway(), list(readings.values())))
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", len(cases))
    with psycopg.connect(db_dsn) as conn:
        got = dict(conn.execute("SELECT reading_id::text, assignment_id FROM readings").fetchall())
        owners = dict(conn.execute("SELECT id, citizen_id FROM device_assignments").fetchall())
        citizens = dict(conn.execute("SELECT reading_id::text, citizen_id FROM readings").fetchall())
    for name, (_, _, expected) in cases.items():
        rid = readings[name]["reading_id"]
        assert got[rid] == expected, name
        assert citizens[rid] == (owners[expected] if expected else None), name


def test_readings_assigned_later_are_attributed_by_one_statement(db_dsn, mosquitto, publisher, start_service):
    address = _address()
    start_service(settings_for(db_dsn, mosquitto.port))
    early, late = reading(measured_at=NOW - timedelta(days=3), address=address), reading(address=address)
    publisher.readings(batch(unique_gateway(), [early, late]))
    wait_for_count(db_dsn, "SELECT count(*) FROM readings WHERE citizen_id IS NULL", 2)
    with psycopg.connect(db_dsn) as conn:
        citizen = insert_citizen(conn)
        device = conn.execute("SELECT id FROM devices WHERE address = %s", (address,)).fetchone()[0]
        assignment = insert_assignment(conn, device, citizen, start=NOW - timedelta(days=1))
        assigned = conn.execute("SELECT assign_unassigned_readings(%s)", (assignment,)).fetchone()[0]
        again = conn.execute("SELECT assign_unassigned_readings(%s)", (assignment,)).fetchone()[0]
        owners = dict(conn.execute("SELECT reading_id::text, citizen_id FROM readings").fetchall())
    assert (assigned, again) == (1, 0)
    assert owners == {early["reading_id"]: None, late["reading_id"]: citizen}


def test_a_threshold_breach_opens_one_alert_not_two(db_dsn, mosquitto, publisher, start_service):
    address = _address()
    with psycopg.connect(db_dsn) as conn:
        citizen = insert_citizen(conn)
        insert_assignment(conn, insert_device(conn, address), citizen, start=NOW - timedelta(days=30))
    service = start_service(settings_for(db_dsn, mosquitto.port))
    gateway = unique_gateway()
    high = [
        reading(address=address, systolic=171, diastolic=80, measured_at=NOW - timedelta(minutes=m))
        for m in (9, 8)
    ]
    publisher.readings(batch(gateway, high, batch_seq=1))  # two breaches in one message
    later = NOW - timedelta(minutes=5)
    publisher.readings(
        batch(gateway, [reading(address=address, systolic=175, diastolic=80, measured_at=later)], 2)
    )
    publisher.readings(
        batch(gateway, [reading(address=address, systolic=300, diastolic=150, measured_at=later)], 3)
    )
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 4)
    with psycopg.connect(db_dsn) as conn:
        alerts = conn.execute(
            "SELECT metric, level, state, reading_id::text, value, alert_type FROM alerts WHERE citizen_id = %s",
            (citizen,),
        ).fetchall()
    # 171 and 175 are systolic alerts (>= 160): one alert. 300/150 is extreme but within the
    # physiological limits: no second systolic alert, but a first diastolic one (150 >= 100).
    assert sorted(a[:3] for a in alerts) == [("diastolic", "alert", "open"), ("systolic", "alert", "open")]
    systolic = next(a for a in alerts if a[0] == "systolic")
    assert systolic[3] == high[0]["reading_id"] and systolic[4] == 171 and systolic[5] == "threshold"
    assert sample(service, "ingest_alerts_opened_total", type="threshold", level="alert") == 2
    # Once staff resolve it, the next breach opens a new one.
    with psycopg.connect(db_dsn) as conn:
        conn.execute("UPDATE alerts SET state = 'resolved', resolved_at = now(), resolved_by = 'nurse'")
    publisher.readings(batch(gateway, [reading(address=address, systolic=165, diastolic=80)], batch_seq=4))
    wait_for_count(db_dsn, "SELECT count(*) FROM alerts WHERE state = 'open'", 1)
    assert count(db_dsn, "SELECT count(*) FROM alerts") == 3


def test_unassigned_and_implausible_readings_raise_no_alerts(db_dsn, mosquitto, publisher, start_service):
    address = _address()
    with psycopg.connect(db_dsn) as conn:
        citizen = insert_citizen(conn)
        insert_assignment(conn, insert_device(conn, address), citizen, start=NOW - timedelta(days=30))
    start_service(settings_for(db_dsn, mosquitto.port))
    publisher.readings(
        batch(
            unique_gateway(),
            [
                reading(address=_address(), systolic=200, diastolic=80),
                reading(address=address, systolic=310, diastolic=80),
            ],
        )
    )
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 2)
    assert count(db_dsn, "SELECT count(*) FROM alerts") == 0


def test_gaps_in_batch_seq_are_recorded_and_late_batches_fill_them(
    db_dsn, mosquitto, publisher, start_service
):
    service = start_service(settings_for(db_dsn, mosquitto.port))
    gateway = unique_gateway()
    for seq in (1, 2, 6):
        publisher.readings(batch(gateway, [reading()], batch_seq=seq))
    wait_for_count(db_dsn, "SELECT count(*) FROM batch_gaps", 1)
    publisher.readings(batch(gateway, [reading()], batch_seq=4))  # arrives late
    publisher.readings(batch(gateway, [reading()], batch_seq=4))  # and again: counted once
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 5)
    with psycopg.connect(db_dsn) as conn:
        gaps = conn.execute(
            "SELECT gateway_id, expected_seq, received_seq, missing, filled FROM batch_gaps"
        ).fetchall()
        last = conn.execute(
            "SELECT last_batch_seq FROM gateways WHERE gateway_id = %s", (gateway,)
        ).fetchone()[0]
        still = conn.execute("SELECT still_missing FROM grafana.batch_gaps").fetchone()[0]
    assert gaps == [(gateway, 3, 6, 3, 1)]
    assert (last, still) == (6, 2)
    assert sample(service, "ingest_batch_gaps_total") == 1
    assert sample(service, "ingest_batch_seq_missing_total") == 3
    assert sample(service, "ingest_batch_seq_late_total") == 1


def test_status_messages_update_the_gateway_and_device_batteries(db_dsn, mosquitto, publisher, start_service):
    start_service(settings_for(db_dsn, mosquitto.port))
    gateway, address = unique_gateway(), _address()
    publisher.status(
        gateway,
        {
            "state": "online",
            "version": "1.4.2",
            "uptime_s": 3600.5,
            "outbox_depth": 12,
            "outbox_full": False,
            "devices": [{"address": address, "model": "UA-651BLE", "battery": 41}],
            "sent_at": utc_text(datetime.now(UTC) - timedelta(seconds=1)),
        },
    )
    wait_for_count(
        db_dsn, f"SELECT count(*) FROM gateways WHERE gateway_id = '{gateway}' AND state = 'online'", 1
    )
    publisher.status(gateway, {"state": "offline"})  # the last will
    wait_for_count(
        db_dsn, f"SELECT count(*) FROM gateways WHERE gateway_id = '{gateway}' AND state = 'offline'", 1
    )
    with psycopg.connect(db_dsn) as conn:
        row = conn.execute(
            "SELECT version, uptime_s, outbox_depth, outbox_full, status->>'state' FROM gateways WHERE gateway_id = %s",
            (gateway,),
        ).fetchone()
        battery = conn.execute(
            "SELECT battery_level, model FROM devices WHERE address = %s", (address,)
        ).fetchone()
    assert row == ("1.4.2", 3600.5, 12, False, "offline")
    assert battery == (41, "UA-651BLE")
    publisher.client.publish(f"homevitals/v1/gateways/{gateway}/status", b"", qos=1, retain=True)  # clear it


def test_a_message_the_database_rejects_is_isolated_and_dead_lettered(db_dsn, mosquitto, start_service):
    """A poison message that passed validation must not hold up its batch."""
    service = start_service(settings_for(db_dsn, mosquitto.port, batch_max_wait_ms=500))
    gateway = unique_gateway()
    now = datetime.now(UTC)
    envelopes = []
    for seq in (1, 2, 3):
        payload = encode(batch(gateway, [reading()], batch_seq=seq))
        topic = readings_topic(gateway)
        outcome = validate_message(
            topic, payload, now=now, future_tolerance=timedelta(minutes=5), max_payload_bytes=1 << 20
        )
        if seq == 2:  # what no validator catches: here, an address the devices table's CHECK refuses
            outcome.readings[0] = outcome.readings[0]._replace(address="not-an-address")
        envelopes.append(Envelope(topic, payload, outcome))
    for envelope in envelopes:
        service.buffer.put(envelope)
    wait_for_count(db_dsn, "SELECT count(*) FROM dead_letters", 1)
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 2)
    with psycopg.connect(db_dsn) as conn:
        reason, detail, payload = conn.execute("SELECT reason, detail, payload FROM dead_letters").fetchone()
    assert reason == "database_rejected" and "devices_address_check" in detail
    assert bytes(payload) == envelopes[1].payload


def test_runs_as_a_login_role_that_is_a_member_of_homevitals_ingest(
    db_dsn, postgres_server, mosquitto, publisher, start_service
):
    user = f"ingest_{uuid.uuid4().hex[:8]}"
    address = _address()
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {user} LOGIN IN ROLE homevitals_ingest")
        citizen = insert_citizen(conn)
        insert_assignment(conn, insert_device(conn, address), citizen, start=NOW - timedelta(days=30))
    dsn = postgres_server.dsn_for(db_dsn.rsplit("/", 1)[1], user=user)
    service = start_service(settings_for(dsn, mosquitto.port))
    gateway = unique_gateway()
    publisher.status(gateway, {"state": "online", "devices": [{"address": address, "battery": 80}]})
    publisher.readings(batch(gateway, [reading(address=address, systolic=170, diastolic=80)], batch_seq=1))
    publisher.readings(batch(gateway, [reading(address=_address())], batch_seq=5))  # a gap, a new device
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 2)
    publisher.readings(batch(gateway, [reading()], batch_seq=3))  # fills part of the gap
    publisher.publish(readings_topic(gateway), b"garbage")
    wait_for_count(db_dsn, "SELECT count(*) FROM readings", 3)
    wait_for_count(db_dsn, "SELECT count(*) FROM dead_letters", 1)
    wait_for_count(db_dsn, "SELECT count(*) FROM batch_gaps WHERE filled = 1", 1)
    assert count(db_dsn, "SELECT count(*) FROM alerts") == 1
    assert sample(service, "ingest_db_errors_total", kind="misconfigured") in (None, 0)
    publisher.client.publish(f"homevitals/v1/gateways/{gateway}/status", b"", qos=1, retain=True)


def test_missing_measurements_open_one_warning_per_quiet_citizen(db_dsn, postgres_server):
    user = f"ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {user} LOGIN IN ROLE homevitals_ingest")
        quiet, busy, new, left = (insert_citizen(conn, family=name) for name in ("Quiet", "Busy", "New", "Left"))
        devices = {c: insert_device(conn, _address()) for c in (quiet, busy, new, left)}
        for citizen, since in ((quiet, 10), (busy, 10), (new, 1)):
            insert_assignment(conn, devices[citizen], citizen, start=NOW - timedelta(days=since))
        insert_assignment(conn, devices[left], left, start=NOW - timedelta(days=20), end=NOW - timedelta(days=5))
        conn.execute(
            "INSERT INTO readings (measured_at, reading_id, kind, device_id, citizen_id, gateway_id, gateway_time, "
            'time_source, unit, systolic, "values", raw_uuid, raw) VALUES '
            "(now() - interval '1 day', gen_random_uuid(), 'blood_pressure', %s, %s, 'gw-0001', now(), "
            "'gateway', 'mmHg', 120, '{}', '2a35', '\\x00')",
            (devices[busy], busy),
        )
    dsn = postgres_server.dsn_for(db_dsn.rsplit("/", 1)[1], user=user)
    with psycopg.connect(dsn, autocommit=True) as conn:
        rules = (MissingMeasurementsRule(days=3),)
        first = [alert.citizen_id for alert in run_periodic(conn, rules)]
        second = run_periodic(conn, rules)  # one unresolved alert is enough
    assert (first, second) == ([quiet], [])
    with psycopg.connect(db_dsn) as conn:
        alerts = conn.execute("SELECT citizen_id, alert_type, metric, level, message FROM alerts").fetchall()
    assert [a[:4] for a in alerts] == [(quiet, "missing_measurements", "measurements", "warning")]
    assert alerts[0][4] == "no measurement for 3 days (last: never)"
