"""DESIGN.md's example batch, used by the docs and the tests (raw hex completed)."""

from __future__ import annotations

from typing import Any

EXAMPLE_BATCH: dict[str, Any] = {
    "schema": "homevitals.readings.v1",
    "gateway_id": "gw-0042",
    "batch_seq": 1234,
    "sent_at": "2026-11-29T10:00:03.120Z",
    "readings": [
        {
            "reading_id": "5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a",
            "kind": "blood_pressure",
            "device": {
                "address": "A4:C1:38:00:11:22",
                "serial": "5081234",
                "manufacturer": "A&D Medical",
                "model": "UA-651BLE",
                "firmware": "1.2",
            },
            "user_id": 1,
            "device_time": "2026-11-29T09:58:00",
            "gateway_time": "2026-11-29T08:58:04.512Z",
            "measured_at": "2026-11-29T08:58:00Z",
            "time_source": "device_corrected",
            "unit": "mmHg",
            "values": {
                "systolic": 128,
                "diastolic": 82,
                "mean_arterial_pressure": 97,
                "pulse_rate": 64,
            },
            "status": {
                "body_movement": False,
                "cuff_fit_loose": False,
                "irregular_pulse": False,
                "pulse_rate_range": "in_range",
                "improper_position": False,
            },
            "invalid_values": [],
            "raw": {"uuid": "2a35", "hex": "1e800052006100ea070b1d093a004000010000"},
        }
    ],
}
