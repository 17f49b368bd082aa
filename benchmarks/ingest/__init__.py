"""``homevitals bench ingest`` and ``homevitals bench writer`` (docs/benchmarks.md#ingest).

Against a real Mosquitto and a real PostgreSQL with TimescaleDB (started here, or given), for
each message size (1 reading per message, and 20):

1. **ingest** (run.py): a real ``python -m ingest run`` worker process; P publisher processes
   (publisher.py) simulate G gateways (fleet.py) and publish N readings as QoS 1 contract
   messages with a bounded in-flight window. Measured: stored readings/s from the first
   publish to the last commit, publish -> commit latency (each reading's ``gateway_time`` is
   stamped when its message is sent, so the worker's ``ingest_lag_seconds`` histogram is
   exactly that), CPU per process, and the exact count in the database.
2. **naive** (naive.py): the same messages (a prefix, it is slow) into a subscriber that does
   one INSERT per reading in autocommit, acking on return: the baseline.
3. **copy** (ceiling.py): the same rows COPYed straight into ``readings``: the ceiling.

``homevitals bench writer`` (writers.py) compares write strategies on the same batches (no MQTT).
"""
