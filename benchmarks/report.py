"""What every benchmark prints: a header saying how it was run, Markdown tables, and the
section of docs/benchmarks.md a run may rewrite."""

from __future__ import annotations

import os
import platform
import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path


def cpus() -> int:
    return os.cpu_count() or 0


def say(*parts: object, err: bool = False) -> None:
    """Print for a person at a terminal (benchmarks are commands, not library code)."""
    (sys.stderr if err else sys.stdout).write(" ".join(str(p) for p in parts) + "\n")


def command_line() -> str:
    """The command as typed (``homevitals bench ...``), for the header and the docs."""
    return " ".join(shlex.quote(a) for a in ["homevitals", *sys.argv[1:]])


def header(*, durable: bool | None = None) -> str:
    """Two comment lines: the command, and the machine it ran on."""
    fsync = "" if durable is None else f", PostgreSQL fsync={'on' if durable else 'off'}"
    return (
        f"# command: {command_line()}\n"
        f"# machine: {platform.node()} {platform.machine()}, {cpus()} CPUs, "
        f"Python {platform.python_version()}{fsync}"
    )


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, numeric_from: int = 1) -> str:
    """A Markdown table; columns from ``numeric_from`` on are right-aligned."""
    align = ["---" if i < numeric_from else "---:" for i in range(len(columns))]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def replace_section(path: Path, section: str) -> None:
    """Replace (or append) the ``## ...`` section that ``section`` starts with; the other
    sections of the file stay as they are."""
    heading = section.split("\n", 1)[0]
    if not heading.startswith("## "):
        raise ValueError(f"a section starts with '## ', not {heading!r}")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section.rstrip() + "\n\n", text)
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + section.rstrip() + "\n"
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
