"""Grafana dashboards for homevitals, as code (grafana-foundation-sdk), plus provisioning
files and ``homevitals dashboards sync`` (grafana-client). See docs/dashboards.md."""
