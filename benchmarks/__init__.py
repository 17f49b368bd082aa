"""Benchmarks: commands that measure the hub and print tables (docs/benchmarks.md). Not shipped."""
