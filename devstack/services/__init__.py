"""Throwaway local PostgreSQL/TimescaleDB and Mosquitto instances.

Used by the test harness, the ingest benchmark and the native demo. Each instance lives in
its own folder, on a free port, and is stopped and removed by its context manager.
"""
