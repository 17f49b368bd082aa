"""End to end: the native demo (README's run command) with 3 simulated citizens.

Starts `homevitals demo run` as a real process: PostgreSQL+TimescaleDB, Mosquitto, ingest,
the API and simulated homes whose gateways talk to Bumble virtual monitors. Then asks the
API, as a clinician, for each citizen's readings and home-BP report, and stops the demo.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from devstack.services.ports import free_port, port_in_use
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _descendants(pid: int) -> set[int]:
    """Every process below pid (by /proc's parent links); sessions don't hide them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def demo_dir():
    # Not pytest's tmp_path: its 0700 parents keep out the postgres user the demo runs as.
    path = Path(tempfile.mkdtemp(prefix="homevitals-demo-test-"))
    path.chmod(0o755)
    yield path / "demo"
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def demo(demo_dir, repo_root):
    ports = {name: free_port() for name in ("postgres", "mqtt", "api", "metrics")}
    data_dir = demo_dir
    process = subprocess.Popen(
        [str(repo_root / ".venv/bin/homevitals"), "demo", "run", "--data-dir", str(data_dir),
         "--citizens", "3", "--speed", "600", "--history-days", "7",
         "--postgres-port", str(ports["postgres"]), "--mqtt-port", str(ports["mqtt"]),
         "--api-port", str(ports["api"]), "--metrics-port", str(ports["metrics"])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    info_path = data_dir / "demo.json"

    def started() -> bool:
        assert process.poll() is None, f"demo exited early:\n{process.stdout.read()}"
        return info_path.exists()

    wait_until(started, 120, f"the demo to write {info_path}", interval=0.5)
    time.sleep(0.5)  # demo.json is written in one go; give the summary a moment
    yield process, json.loads(info_path.read_text()), ports
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.stdout.close()


def _broker_refuses_strangers_and_foreign_client_ids(port: int, data_dir: Path) -> None:
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    def connect(user, password, client_id):
        answers, changed = {}, threading.Condition()

        def answer(key, value):
            with changed:
                answers[key] = value
                changed.notify_all()

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if user is not None:
            client.username_pw_set(user, password)
        client.on_connect = lambda _c, _u, _f, reason, _p: answer("connack", reason)
        client.connect("127.0.0.1", port)
        client.loop_start()
        with changed:
            assert changed.wait_for(lambda: "connack" in answers, timeout=10)
        return client, answers

    anonymous, answers = connect(None, None, "stranger")
    assert answers["connack"].value == 0x87, answers  # allow_anonymous false with the plugin
    anonymous.disconnect()
    anonymous.loop_stop()
    anonymous._reset_sockets()
    gateway_id = "demo-home-01"
    password = (data_dir / "secrets" / f"mqtt-{gateway_id}").read_text().strip()
    gateway, answers = connect(gateway_id, password, f"homevitals-gateway-{gateway_id}-x")
    assert answers["connack"].value == 0x87, "a client id other than the bound one is refused"
    gateway.disconnect()
    gateway.loop_stop()
    gateway._reset_sockets()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def check_the_web_tour(info: dict) -> None:
    """What README's tour asks of a newcomer is there: the nurse's login, a red citizen
    first on I dag, a guest's readings to assign, the citizen's own login."""
    first = next(c for c in info["citizens"].values() if c["gateway_id"] == "demo-home-01" and c["user_slot"] == 1)
    with httpx.Client(base_url=info["api_url"], timeout=10) as web:
        login = web.get("/app/login")
        subs = re.findall(r'data-sub="([^"]+)"', login.text)
        assert subs[0] == "demo-nurse" and subs[1].startswith("demo-citizen-"), subs
        token = CSRF.search(login.text).group(1)
        assert web.post("/app/login/dev", data={"sub": "demo-nurse", "csrf_token": token}).status_code == 303
        today = web.get("/app/i-dag")
        rows = re.findall(r'<tr class="attention-([a-z_]+)" data-citizen="(\d+)"', today.text)
        assert rows[0] == ("red", str(first["id"])), rows
        guest_slot = 1 + sum(c["gateway_id"] == "demo-home-01" for c in info["citizens"].values())
        unassigned = web.get("/app/ikke-tildelte").text
        assert f'data-slot="{guest_slot}"' in unassigned and first["device"] in unassigned


def test_demo_delivers_attributed_readings_and_stops_cleanly(demo):
    process, info, ports = demo
    headers = {"Authorization": f"Bearer {info['clinician_token']}"}
    citizens = info["citizens"]
    assert len(citizens) == 3

    # Wait until every citizen has readings: the week of history stored on each monitor.
    readings: dict[str, list[dict]] = {}
    with httpx.Client(base_url=info["api_url"], headers=headers, timeout=10) as api:

        def every_citizen_has_a_week() -> bool:
            for key, citizen in citizens.items():
                response = api.get(f"/api/v1/citizens/{citizen['id']}/readings", params={"limit": 500})
                assert response.status_code == 200, response.text
                readings[key] = response.json()["items"]
            return all(len(items) >= 20 for items in readings.values())

        wait_until(every_citizen_has_a_week, 120, lambda: "20 readings per citizen, have " + str(
            {key: len(items) for key, items in readings.items()}), interval=2)

        for key, citizen in citizens.items():
            for reading in readings[key]:
                # Attributed by device and user slot: the monitor of the citizen's home, their slot.
                assert reading["gateway_id"] == citizen["gateway_id"]
                assert reading["user_slot"] == citizen["user_slot"]
                assert reading["kind"] == "blood_pressure"
                assert 60 < reading["systolic"] < 220
            days = {r["measured_at"][:10] for r in readings[key]}
            assert len(days) >= 6, f"{key}: a week of history expected, got days {sorted(days)}"

            report = api.get(f"/api/v1/citizens/{citizen['id']}/reports/home-bp", params={"days": 7})
            assert report.status_code == 200, report.text
            body = report.json()
            assert body["overall"]["count"] > 0
            assert body["classification"] in {"elevated", "not_elevated"}
            assert body["discarded_day"] is not None

    # The demo's broker is the deployment's kind: accounts bound to client ids, refusals at the broker.
    _broker_refuses_strangers_and_foreign_client_ids(ports["mqtt"], Path(process.args[process.args.index("--data-dir") + 1]))
    check_the_web_tour(info)

    # Ctrl-C stops everything: no child process, no listening port left.
    children = _descendants(process.pid)
    assert children, "the demo should have child processes while running"
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    assert "stopped; data kept in" in output
    web_line = next(line for line in output.splitlines() if line.strip().startswith("Web app"))
    assert info["web_url"] in web_line and "(caregiver)" in web_line and "(citizen)" in web_line
    time.sleep(0.5)
    left = [pid for pid in children if _alive(pid)]
    assert not left, f"processes left running: {left}"
    for name, port in ports.items():
        assert not port_in_use(port), f"{name} port {port} still open"
