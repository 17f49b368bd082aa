"""The naive reference subscriber of issue 17: COPY to staging, no validation.

What a bare subscriber does when it trusts its input: ``json.loads`` each message, buffer the
rows, COPY them into a temporary staging table every 500 readings or 50 ms, ``INSERT ...
SELECT ... ON CONFLICT DO NOTHING`` into ``readings`` (device looked up by address), commit,
then PUBACK. No contract validation, no attribution, no ledger, no alerts, no gateways,
devices or hub acks. It is the yardstick ingest is measured against in the same run.
Each commit appends ``commit time - sent_at`` of its messages (ms) to ``latency_file``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

_STAGING = """
CREATE TEMP TABLE staging (
  measured_at timestamptz, reading_id uuid, kind text, address text, user_slot smallint, gateway_id text,
  batch_seq bigint, device_time timestamp, gateway_time timestamptz, time_source text, unit text,
  systolic real, diastolic real, mean_arterial_pressure real, pulse_rate real, "values" jsonb,
  status jsonb, raw_uuid text, raw bytea
) ON COMMIT DELETE ROWS
"""
_COPY = "COPY staging FROM STDIN"
_INSERT = """
INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, gateway_id, batch_seq,
                      device_time, gateway_time, time_source, unit, systolic, diastolic,
                      mean_arterial_pressure, pulse_rate, "values", status, raw_uuid, raw)
SELECT s.measured_at, s.reading_id, s.kind, d.id, s.user_slot, s.gateway_id, s.batch_seq,
       s.device_time, s.gateway_time, s.time_source, s.unit, s.systolic, s.diastolic,
       s.mean_arterial_pressure, s.pulse_rate, s."values", s.status, s.raw_uuid, s.raw
FROM staging s JOIN devices d ON d.address = s.address
ON CONFLICT DO NOTHING
"""
MAX_READINGS, MAX_WAIT_S = 500, 0.05


def reference_main(
    dsn: str, host: str, port: int, client_id: str, ready_file: str, latency_file: str
) -> None:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(_STAGING)
    rows: list[tuple[Any, ...]] = []
    mids: list[int] = []
    sent: list[str] = []
    first_at = [0.0]

    def on_message(_client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        batch = json.loads(message.payload)
        if not rows:
            first_at[0] = time.monotonic()
        for r in batch["readings"]:
            v = r["values"]
            rows.append(
                (
                    r["measured_at"], r["reading_id"], r["kind"], r["device"]["address"], r["user_id"],
                    batch["gateway_id"], batch["batch_seq"], r["device_time"], r["gateway_time"],
                    r["time_source"], r["unit"], v["systolic"], v["diastolic"],
                    v["mean_arterial_pressure"], v["pulse_rate"], json.dumps(v), json.dumps(r["status"]),
                    r["raw"]["uuid"], bytes.fromhex(r["raw"]["hex"]),
                )
            )
        mids.append(message.mid)
        sent.append(batch["sent_at"])

    def flush(client: mqtt.Client) -> None:
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(_COPY) as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(_INSERT)
        committed = time.time()
        for mid in mids:
            client.ack(mid, 1)
        with Path(latency_file).open("a") as out:
            out.writelines(
                f"{(committed - datetime.fromisoformat(at).timestamp()) * 1e3:.1f}\n" for at in sent
            )
        rows.clear()
        mids.clear()
        sent.clear()

    def on_connect(client: mqtt.Client, _userdata: Any, _flags: Any, _reason: Any, _props: Any) -> None:
        client.subscribe("homevitals/v1/gateways/+/readings", qos=1)

    def on_subscribe(_client: mqtt.Client, _userdata: Any, _mid: int, _reasons: Any, _props: Any) -> None:
        Path(ready_file).touch()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, manual_ack=True)
    client.on_message, client.on_connect, client.on_subscribe = on_message, on_connect, on_subscribe
    client.connect(host, port)
    while True:
        client.loop(timeout=0.01)
        if rows and (len(rows) >= MAX_READINGS or time.monotonic() - first_at[0] >= MAX_WAIT_S):
            flush(client)
