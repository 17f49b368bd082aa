"""Generate the dashboards' JSON, per language, and write it under dashboards/generated/.

The committed JSON is what Grafana's file provisioning reads and what ``sync`` uploads; a
test regenerates it and fails when it differs from the code (drift).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboards import care_overview, citizen_detail, fleet, ingest_operations
from dashboards.i18n import LANGUAGES, Lang

GENERATED_DIR = Path(__file__).parent / "generated"
PROVISIONING_DIR = Path(__file__).parent / "provisioning"

Builder = Callable[[Lang], dict[str, Any]]

# File name (without .json) -> builder. The order is the order of the docs.
DASHBOARDS: dict[str, Builder] = {
    "care-overview": care_overview.build,
    "citizen-detail": citizen_detail.build,
    "fleet": fleet.build,
    "ingest-operations": ingest_operations.build,
}


def generate(lang: Lang) -> dict[str, dict[str, Any]]:
    """Every dashboard in one language, as Grafana's JSON model."""
    return {name: build(lang) for name, build in DASHBOARDS.items()}


def render(dashboard: dict[str, Any]) -> str:
    """The committed text form: stable, readable diffs, Danish letters unescaped."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def write_generated(root: Path = GENERATED_DIR, languages: tuple[Lang, ...] = LANGUAGES) -> list[Path]:
    """(Re)write ``root/<lang>/<name>.json``; removes stale files of dropped dashboards."""
    written: list[Path] = []
    for lang in languages:
        folder = root / lang
        folder.mkdir(parents=True, exist_ok=True)
        dashboards = generate(lang)
        for stale in folder.glob("*.json"):
            if stale.stem not in dashboards:
                stale.unlink()
        for name, dashboard in dashboards.items():
            path = folder / f"{name}.json"
            text = render(dashboard)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def load_generated(lang: Lang, root: Path = GENERATED_DIR) -> dict[str, dict[str, Any]]:
    """The committed JSON of one language (what sync uploads)."""
    paths = sorted((root / lang).glob("*.json"))
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in paths}
