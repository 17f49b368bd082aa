"""The whole gateway against the simulator's virtual devices and a real Mosquitto.

Each test runs a HouseholdSimulation and a GatewayService in this process; a real MQTT
subscriber checks what reaches the broker (every readings message is validated against
the JSON Schema and ReadingsBatch as it arrives).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.allowlist import AllowList
from gateway.pairing import pair_first_new_device
from simulator.model import DeviceKind, FaultKind, Reading
from tests.gateway.helpers import bp_device, expected_reading_ids, gateway_running
from tests.support.waiting import wait_until, wait_until_async

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BP_A = "A4:C1:38:00:00:0A"
BP_B = "A4:C1:38:00:00:0B"


async def test_backlog_of_two_devices_reaches_the_broker(mosquitto, tmp_path: Path, collector_factory):
    scenario = {"devices": [bp_device("bp-a", BP_A, backlog=30, requires_bonding=True),
                            bp_device("bp-b", BP_B, backlog=30, user_slots=2)]}
    collector = collector_factory(mosquitto.port, "gw-backlog")
    async with gateway_running(scenario, mosquitto.port, tmp_path, gateway_id="gw-backlog",
                               start=False) as gw:
        expected = expected_reading_ids(BP_A, gw.device("bp-a").store) | expected_reading_ids(
            BP_B, gw.device("bp-b").store)
        assert len(expected) == 60
        gw.task = asyncio.create_task(gw.service.run(gw.stop))
        await wait_until_async(lambda: collector.reading_ids() >= expected, 60, "60 reading ids at the broker")
        await wait_until_async(lambda: gw.outbox.depth == 0, 10, "the outbox to drain")
    assert collector.reading_ids() == expected
    assert not collector.errors
    seqs = [batch["batch_seq"] for batch in collector.batches()]
    assert sorted(set(seqs)) == list(range(1, max(seqs) + 1))  # no gaps
    assert len(gw.device("bp-a").store) == 0 and len(gw.device("bp-b").store) == 0
    assert {r["device"]["model"] for r in collector.readings()} == {"UA-651BLE"}


async def test_readings_pile_up_while_the_broker_is_down_and_arrive_in_measurement_order(
    private_mosquitto, tmp_path: Path, collector_factory
):
    private_mosquitto.stop()
    scenario = {"devices": [bp_device("bp-a", BP_A, backlog=8), bp_device("bp-b", BP_B, backlog=8)]}
    async with gateway_running(scenario, private_mosquitto.port, tmp_path, gateway_id="gw-outage",
                               batch_size=3) as gw:
        await wait_until_async(lambda: gw.outbox.depth == 16, 30, "16 readings in the outbox")
        assert gw.outbox.open_batch_seqs() == []
        await asyncio.sleep(1.0)
        private_mosquitto.start()
        collector = collector_factory(private_mosquitto.port, "gw-outage")
        await wait_until_async(lambda: gw.outbox.depth == 0, 30, "the outbox to drain after the outage")
    wait_until(lambda: len(collector.readings()) >= 16, 10, "16 readings")
    measured = [reading["measured_at"] for reading in collector.readings()]
    assert measured == sorted(measured)
    assert len(set(collector.reading_ids())) == 16
    assert not collector.errors


async def test_wrong_and_unset_clocks(mosquitto, tmp_path: Path, collector_factory):
    scenario = {"devices": [
        bp_device("bp-fast", BP_A, backlog=3, clock={"offset_seconds": 3 * 3600}),
        bp_device("bp-reset", BP_B, backlog=2, clock={"unset": True}),
    ]}
    collector = collector_factory(mosquitto.port, "gw-clocks")
    async with gateway_running(scenario, mosquitto.port, tmp_path, gateway_id="gw-clocks") as gw:
        fast, reset = gw.device("bp-fast"), gw.device("bp-reset")
        truth = {record.device_time.isoformat(): record.reading.taken_at for record in fast.store}
        assert abs(fast.clock.error() - timedelta(hours=3)) < timedelta(seconds=2)
        await wait_until_async(lambda: len(collector.readings()) == 5, 30, "5 readings")
        await wait_until_async(lambda: len(gw.service.reports) == 2, 15, "both sessions to finish")
        # The gateway set both clocks.
        assert abs(fast.clock.error()) < timedelta(seconds=2)
        assert abs(reset.clock.error()) < timedelta(seconds=2)
        assert not reset.clock.unset
    by_address: dict[str, list[dict]] = {}
    for reading in collector.readings():
        by_address.setdefault(reading["device"]["address"], []).append(reading)
    for reading in by_address[BP_A]:
        assert reading["time_source"] == "device_corrected"
        measured = datetime.fromisoformat(reading["measured_at"])
        assert abs(measured - truth[reading["device_time"]]) <= timedelta(seconds=2)
    for reading in by_address[BP_B]:
        assert reading["device_time"].startswith("2000-01-01")  # kept exactly as reported
        assert reading["time_source"] == "gateway"
        assert reading["measured_at"] == reading["gateway_time"]
    skews = {report.address: report.clock_skew_s for report in gw.service.reports}
    assert abs(skews[BP_A] - 3 * 3600) <= 2
    assert skews[BP_B] is None
    assert all(report.clock_set for report in gw.service.reports)


async def test_device_clocks_are_left_alone_while_the_gateway_clock_is_not_synchronized(
    mosquitto, tmp_path: Path, collector_factory
):
    scenario = {"devices": [bp_device("bp-fast", BP_A, backlog=2, clock={"offset_seconds": 3 * 3600})]}
    collector = collector_factory(mosquitto.port, "gw-nosync")
    async with gateway_running(scenario, mosquitto.port, tmp_path, gateway_id="gw-nosync",
                               clock_synchronized=False) as gw:
        await wait_until_async(lambda: len(gw.service.reports) == 1, 30, "the session")
        assert abs(gw.device("bp-fast").clock.error() - timedelta(hours=3)) < timedelta(seconds=2)
        await wait_until_async(lambda: len(collector.readings()) == 2, 10, "2 readings")
    assert not gw.service.reports[0].clock_set
    assert {r["time_source"] for r in collector.readings()} == {"device_corrected"}


async def test_a_failed_measurement_arrives_flagged_never_as_2047(mosquitto, tmp_path: Path, collector_factory):
    scenario = {"devices": [bp_device("bp-a", BP_A, advertise_seconds=30)]}
    collector = collector_factory(mosquitto.port, "gw-nan")
    async with gateway_running(scenario, mosquitto.port, tmp_path, gateway_id="gw-nan") as gw:
        gw.device("bp-a").measure(Reading(
            kind=DeviceKind.BLOOD_PRESSURE, taken_at=datetime.now(UTC) - timedelta(seconds=5),
            values={"systolic": 130.0, "diastolic": 85.0, "pulse_rate": 70.0}, fault=FaultKind.NAN,
        ))
        await wait_until_async(lambda: len(collector.readings()) == 1, 30, "the failed measurement")
    (reading,) = collector.readings()
    assert reading["values"] == {"systolic": None, "diastolic": None, "mean_arterial_pressure": None,
                                 "pulse_rate": None}
    assert {"systolic", "diastolic", "mean_arterial_pressure"} <= set(reading["invalid_values"])
    assert 2047 not in reading["values"].values()
    assert not collector.errors


async def test_the_neighbours_monitor_is_ignored(mosquitto, tmp_path: Path, collector_factory):
    scenario = {"devices": [bp_device("ours", BP_A, backlog=2), bp_device("neighbour", BP_B, backlog=4)]}
    collector = collector_factory(mosquitto.port, "gw-neighbour")
    async with gateway_running(scenario, mosquitto.port, tmp_path, gateway_id="gw-neighbour",
                               allow=[BP_A]) as gw:
        await wait_until_async(lambda: len(collector.readings()) == 2, 30, "our 2 readings")
        await wait_until_async(lambda: gw.service.allowlist.ignored[BP_B] >= 3, 10, "the neighbour's adverts")
        await asyncio.sleep(1.0)
        neighbour = gw.device("neighbour")
        assert len(neighbour.store) == 4  # never read: its records are all still there
        assert neighbour.delivered_seqs == []
        status = gw.service.status_payload()
    assert {r["device"]["address"] for r in collector.readings()} == {BP_A}
    assert status["ignored_devices"] == 1
    assert [d["address"] for d in status["devices"]] == [BP_A]


async def test_pairing_adds_the_first_new_device(mosquitto, tmp_path: Path, collector_factory):
    scenario = {"devices": [bp_device("known", BP_A, backlog=1),
                            bp_device("new", BP_B, backlog=2, requires_bonding=True, model="UA-767PBT-Ci",
                                      serial="X-77")]}
    collector = collector_factory(mosquitto.port, "gw-pair")
    async with gateway_running(scenario, mosquitto.port, tmp_path, gateway_id="gw-pair", allow=[BP_A],
                               start=False) as gw:
        entry = await pair_first_new_device(gw.backend, AllowList(tmp_path / "allowlist.json"), timeout_s=20)
        assert entry.address == BP_B
        assert entry.bonded
        assert (entry.model, entry.serial, entry.manufacturer) == ("UA-767PBT-Ci", "X-77", "A&D Medical")
        assert entry.services == ("1810",)
        on_disk = AllowList(tmp_path / "allowlist.json")
        assert BP_B in on_disk and BP_A in on_disk
        # The running service picks the new entry up and reads the device.
        gw.task = asyncio.create_task(gw.service.run(gw.stop))
        await wait_until_async(lambda: len(collector.readings()) == 3, 30, "readings of both devices")
    assert {r["device"]["address"] for r in collector.readings()} == {BP_A, BP_B}


async def test_outbox_full_raises_the_alarm_on_the_status_topic(acl_mosquitto, tmp_path: Path,
                                                                collector_factory):
    # The broker refuses the readings (an ACL mistake): they pile up past the limit of 3.
    scenario = {"devices": [bp_device("bp-a", BP_A, backlog=5)]}
    collector = collector_factory(acl_mosquitto.port, "gw-full")
    async with gateway_running(scenario, acl_mosquitto.port, tmp_path, gateway_id="gw-full",
                               outbox_limit=3) as gw:
        await wait_until_async(lambda: any(s.get("outbox_full") for s in collector.statuses()), 30,
                         "the outbox_full alarm on the status topic")
        # Past the limit, the running session still stores what arrives: nothing is dropped.
        await wait_until_async(lambda: gw.outbox.depth == 5, 15, "all 5 readings in the outbox")
        await wait_until_async(lambda: gw.service.publisher.stats.batches_refused >= 1, 15, "the broker's refusal")
        assert gw.outbox.depth == 5
    alarm = next(s for s in collector.statuses() if s.get("outbox_full"))
    assert alarm["alarms"] == ["outbox_full"]
    assert alarm["outbox_depth"] >= 3
    assert alarm["state"] == "online"
    assert collector.batches() == []


GLUCOSE = "C0:26:DA:00:00:01"


async def test_glucose_meter_records_are_fetched_over_racp_only_once(mosquitto, tmp_path: Path,
                                                                     collector_factory):
    scenario = {"devices": [{"id": "meter", "kind": "glucose", "address": GLUCOSE, "backlog": 4,
                             "advertise_seconds": None}]}
    collector = collector_factory(mosquitto.port, "gw-glucose")
    async with gateway_running(scenario, mosquitto.port, tmp_path, gateway_id="gw-glucose") as gw:
        await wait_until_async(lambda: len(collector.readings()) == 4, 30, "4 glucose records")
        first = gw.outbox.last_sequence(GLUCOSE)
        assert first == 4
        meter = gw.device("meter")
        assert len(meter.store) == 4  # a meter keeps its logbook; RACP decides what is sent
        meter.measure(Reading(kind=DeviceKind.GLUCOSE, taken_at=datetime.now(UTC) - timedelta(seconds=3),
                              values={"glucose": 7.2}))
        await wait_until_async(lambda: len(collector.readings()) == 5, 30, "the new record")
        await wait_until_async(lambda: len(gw.service.reports) >= 2, 15, "the second session")
        assert gw.service.reports[1].stored == 1 and gw.service.reports[1].duplicates == 0
    readings = collector.readings()
    assert [r["values"]["sequence_number"] for r in readings] == [1, 2, 3, 4, 5]
    assert readings[-1]["values"]["glucose"] == pytest.approx(7.2, abs=0.1)
    assert {r["kind"] for r in readings} == {"glucose"}


async def test_a_device_that_hangs_up_mid_transfer_is_read_again(mosquitto, tmp_path: Path,
                                                                 collector_factory):
    scenario = {"devices": [bp_device("bp-a", BP_A, backlog=10, drop_after_n_indications=4)]}
    collector = collector_factory(mosquitto.port, "gw-drop")
    async with gateway_running(scenario, mosquitto.port, tmp_path, gateway_id="gw-drop") as gw:
        expected = expected_reading_ids(BP_A, gw.device("bp-a").store)
        await wait_until_async(lambda: collector.reading_ids() == expected, 30, "all 10 after the drop")
    first = gw.service.reports[0]
    assert first.device_disconnected and first.stored == 4
    assert sum(report.stored for report in gw.service.reports) == 10


async def test_malformed_bytes_are_kept_with_their_hex(mosquitto, tmp_path: Path, collector_factory):
    scenario = {"devices": [bp_device("bp-a", BP_A, advertise_seconds=30)]}
    collector = collector_factory(mosquitto.port, "gw-malformed")
    async with gateway_running(scenario, mosquitto.port, tmp_path, gateway_id="gw-malformed") as gw:
        now = datetime.now(UTC)
        device = gw.device("bp-a")
        device.measure(Reading(kind=DeviceKind.BLOOD_PRESSURE, taken_at=now - timedelta(seconds=20),
                               values={"systolic": 125.0, "diastolic": 80.0, "pulse_rate": 66.0},
                               fault=FaultKind.MALFORMED))
        device.measure(Reading(kind=DeviceKind.BLOOD_PRESSURE, taken_at=now - timedelta(seconds=10),
                               values={"systolic": 126.0, "diastolic": 81.0, "pulse_rate": 67.0}))
        await wait_until_async(lambda: len(collector.readings()) == 1, 30, "the good reading")
        await wait_until_async(lambda: gw.outbox.malformed_count() == 1, 10, "the malformed payload kept")
        (kept,) = gw.outbox.malformed()
    assert kept["address"] == BP_A and kept["uuid"] == "2a35" and kept["hex"]
    assert "offset" in kept["error"]
    assert collector.readings()[0]["values"]["systolic"] == 126.0


async def test_a_silent_scanner_is_restarted_and_still_hears_devices(tmp_path: Path):
    from gateway.scanner import ScanSupervisor
    from simulator.gateway_plugin import simulator_backend
    from simulator.runner import HouseholdSimulation
    from simulator.scenario import parse_scenario

    scenario = parse_scenario({"devices": [bp_device("bp-a", BP_A, advertise_seconds=5)]})
    heard: list[str] = []
    async with HouseholdSimulation(scenario) as simulation:
        supervisor = ScanSupervisor(simulator_backend(simulation.world),
                                    lambda device, _adv: heard.append(device.address), stall_after_s=0.3)
        stop = asyncio.Event()
        task = asyncio.create_task(supervisor.run(stop))
        await wait_until_async(lambda: supervisor.stats.restarts >= 2, 10, "two restarts of a silent scanner")
        assert heard == []
        simulation.device("bp-a").measure(Reading(
            kind=DeviceKind.BLOOD_PRESSURE, taken_at=datetime.now(UTC), values={"systolic": 120.0,
                                                                               "diastolic": 80.0}))
        await wait_until_async(lambda: BP_A in heard, 10, "the advertisement after the restarts")
        stop.set()
        await task
    assert supervisor.stats.start_failures == 0
