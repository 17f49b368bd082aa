"""Reading a worker's Prometheus metrics: values and histogram quantiles."""

from __future__ import annotations

import contextlib
import time
import urllib.request


def metrics_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def metric_value(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + " ", name + "{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def histogram_quantile(text: str, name: str, q: float) -> float | None:
    """Prometheus-style quantile: linear interpolation inside the bucket that holds it."""
    buckets: list[tuple[float, float]] = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket{"):
            label = line.split('le="', 1)[1].split('"', 1)[0]
            upper = float("inf") if label == "+Inf" else float(label)
            buckets.append((upper, float(line.rsplit(" ", 1)[1])))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            span = count - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / span if span else 1.0)
        lower_bound, lower_count = bound, count
    return None


def wait_metric(port: int, name: str, value: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if metric_value(metrics_text(port), name) == value:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{name} did not reach {value} on :{port}")
