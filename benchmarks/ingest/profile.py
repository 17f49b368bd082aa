"""Where an ingest worker's time goes: py-spy samples of the thread holding the GIL, summed
into the costs issue 17 names (validation, paho, JSON, COPY, alerts, hub acks).

``homevitals bench ingest --profile DIR`` attaches ``py-spy record --gil`` to each worker for
the measured run and prints the breakdown; the raw collapsed stacks stay in DIR.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

# From the leaf up, the first frame that matches names the sample's cost. Ordered so that the
# specific wins over the general (a JSON parse inside the duplicate-key check is that check).
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("validation: duplicate-key check", ("_duplicate_key", "_surely_no_duplicate_key")),
    ("validation: pydantic parse", ("model_validate_json", "validate_json")),
    ("validation: values/status to JSON", ("model_dump", "_json (")),
    ("validation: NUL check", ("_has_nul_escape",)),
    ("validation: row building", ("validate_readings", "validate_message")),
    ("hub acks", ("hub_acks.py", "acks_for", "_publish_hub_acks")),
    ("PUBACKs", ("_send_acks",)),
    ("paho: receive + parse", ("loop_read", "_packet_read", "_handle_publish")),
    ("paho: send", ("loop_write", "_packet_write")),
    ("paho: other", ("paho",)),
    ("alerts", ("ingest/alerts",)),
    ("COPY rows (psycopg)", ("write_row", "copy.py")),
    ("psycopg: the Python side of SQL round trips", ("psycopg",)),  # --gil: not the wait itself
    ("writer bookkeeping", ("writer.py", "write_strategy.py", "committer.py")),
    ("buffer / batching", ("buffer.py",)),
    ("metrics", ("prometheus_client", "metrics.py")),
    ("logging", ("structlog", "logging")),
    ("garbage collection", ("<gc>",)),
)


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes] | None:
    beside = Path(sys.executable).with_name("py-spy")  # installed in the same venv
    binary = str(beside) if beside.exists() else shutil.which("py-spy")
    if binary is None:
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(  # noqa: S603 - our own tool on our own child process
        [
            binary,
            "record",
            "--pid",
            str(pid),
            "--gil",
            "--nonblocking",
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.kill()


def categorise(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return name
    return "other"


def breakdown(collapsed: str) -> Counter[str]:
    """Samples per category from py-spy's raw (collapsed) output: ``frame;frame;... count``."""
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, number = line.rpartition(" ")
        if stack and number.isdigit():
            counts[categorise(stack)] += int(number)
    return counts


def breakdown_table(files: list[Path], readings: int) -> str:
    counts: Counter[str] = Counter()
    for file in files:
        if file.exists():
            counts += breakdown(file.read_text())
    total = sum(counts.values())
    if not total:
        return "(no profile: is py-spy installed, and may it attach (ptrace)?)"
    seconds_per_sample = 1 / 200
    lines = ["| where the GIL-holding thread was | share | µs per reading |", "|---|---:|---:|"]
    for name, n in counts.most_common():
        lines.append(f"| {name} | {n / total:.0%} | {n * seconds_per_sample / max(1, readings) * 1e6:.1f} |")
    lines.append(f"| total | 100% | {total * seconds_per_sample / max(1, readings) * 1e6:.1f} |")
    return "\n".join(lines)
