"""Helper process for the kill -9 test: writes readings (and acknowledges batches) forever.

It prints ``stored <reading_id>`` after each add returns and ``acked <batch_seq>`` after each
acknowledge returns: those are promises the outbox must keep even if killed right after.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.outbox import Outbox
from tests.gateway.helpers import bp_reading


def main() -> None:
    path = Path(sys.argv[1])
    start = datetime.now(UTC)
    with Outbox.open(path, limit=10**9) as outbox:
        for i in range(10**9):
            reading = bp_reading(90 + i % 100, minutes_ago=i % 1000, diastolic=50 + i // 100 % 50,
                                 now=start + timedelta(seconds=i))
            outbox.add(reading)
            print(f"stored {reading.reading_id}", flush=True)
            if i % 5 == 4:
                batch = outbox.form_batch(4)
                if batch is not None and batch.batch_seq % 2 == 0:
                    outbox.acknowledge(batch.batch_seq)
                    print(f"acked {batch.batch_seq}", flush=True)


if __name__ == "__main__":
    main()
