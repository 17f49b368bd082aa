"""Structural checks of the generated dashboards and the provisioning files."""

from __future__ import annotations

import itertools
import json
import re
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards.build import (
    DASHBOARDS,
    GENERATED_DIR,
    PROVISIONING_DIR,
    generate,
    load_generated,
    render,
    write_generated,
)
from dashboards.common import FOLDER_UID
from dashboards.grafana_objects import DatasourceSpec, FolderSpec
from dashboards.i18n import LANGUAGES, TEXTS
from dashboards.sqlquery import DATASOURCE_TYPE, DATASOURCE_UID, SqlDataquery, register_with_sdk

# Unit tests (marked so by tests/conftest.py), except the one that runs the CLI.

REPO = Path(__file__).resolve().parents[2]
OUR_DATASOURCE = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
ALL = [(lang, name) for lang in LANGUAGES for name in DASHBOARDS]


def dashboard(lang: str, name: str) -> dict[str, Any]:
    return load_generated(lang)[name]  # type: ignore[arg-type]


def test_committed_json_is_what_the_code_generates():
    for lang in LANGUAGES:
        fresh = generate(lang)
        committed = sorted(p.name for p in (GENERATED_DIR / lang).glob("*.json"))
        assert committed == sorted(f"{name}.json" for name in fresh), f"stale or missing files in {lang}/"
        for name, model in fresh.items():
            text = (GENERATED_DIR / lang / f"{name}.json").read_text(encoding="utf-8")
            assert text == render(model), f"{lang}/{name}.json drifted: run `homevitals dashboards build`"


def test_build_writes_both_languages_and_removes_stale_files(tmp_path):
    (tmp_path / "da").mkdir()
    (tmp_path / "da" / "retired.json").write_text("{}")
    written = write_generated(root=tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        f"{lang}/{name}.json" for lang, name in ALL)
    assert not (tmp_path / "da" / "retired.json").exists()


@pytest.mark.parametrize(("lang", "name"), ALL)
def test_panels_have_unique_ids_a_datasource_everywhere_and_valid_grid_positions(lang, name):
    model = dashboard(lang, name)
    panels = model["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)
    for panel in panels:
        assert panel["datasource"] == OUR_DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))
        for target in panel["targets"]:
            assert target["datasource"] == OUR_DATASOURCE
            assert target["rawQuery"] is True and target["format"] in ("table", "time_series")
            assert target["rawSql"].strip() == target["rawSql"] and target["rawSql"]
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["y"] >= 0 and pos["w"] >= 1 and pos["h"] >= 1, panel["title"]
        assert pos["x"] + pos["w"] <= 24, f"{panel['title']} is wider than the grid"
    for a, b in itertools.combinations(panels, 2):
        pa, pb = a["gridPos"], b["gridPos"]
        overlap = (pa["x"] < pb["x"] + pb["w"] and pb["x"] < pa["x"] + pa["w"]
                   and pa["y"] < pb["y"] + pb["h"] and pb["y"] < pa["y"] + pa["h"])
        assert not overlap, f"{a['title']} overlaps {b['title']}"
    for variable in model["templating"]["list"]:
        if variable["type"] == "query":  # the web app's address is a constant: no query
            assert variable["datasource"] == OUR_DATASOURCE
    assert model["uid"] and len(model["uid"]) <= 40 and model["editable"] is False


def test_care_dashboards_have_team_and_citizen_variables_and_link_to_the_detail():
    assert [v["name"] for v in dashboard("da", "care-overview")["templating"]["list"]] == ["team", "web"]
    assert [v["name"] for v in dashboard("da", "citizen-detail")["templating"]["list"]] == ["team", "citizen", "web"]
    links = re.findall(r'"url": "(/d/homevitals-citizen-detail\?[^"]+)"', json.dumps(dashboard("da", "care-overview")))
    assert len(links) == 2  # the citizen list and the alert list
    assert all("var-citizen=${__data.fields.citizen_id}" in link for link in links)


def test_the_json_is_valid_for_the_sdk_and_round_trips():
    register_with_sdk()
    for lang, name in ALL:
        model = dashboard(lang, name)
        parsed = Dashboard.from_json(model)
        assert all(isinstance(t, SqlDataquery) for p in parsed.panels or [] for t in p.targets or [])
        assert json.loads(json.dumps(parsed, cls=JSONEncoder)) == model


def _texts(model: Any, path: str = "") -> dict[str, str]:
    """Every human-readable string in a dashboard, by its JSON path."""
    found: dict[str, str] = {}
    if isinstance(model, dict):
        for key, value in model.items():
            child = f"{path}.{key}"
            if (key in ("title", "description", "label", "text", "noValue", "tooltip") and isinstance(value, str)) or (key == "value" and model.get("id") == "displayName"):
                found[child] = value
            elif key == "text" and isinstance(value, list):
                found.update({f"{child}[{i}]": v for i, v in enumerate(value)})
            else:
                found.update(_texts(value, child))
    elif isinstance(model, list):
        for index, item in enumerate(model):
            found.update(_texts(item, f"{path}[{index}]"))
    return found


# Words that read the same in both languages (names, units, codes).
SAME_IN_BOTH = {"homevitals", "Normal", "0", "-", "Gateway", "Status"}
ENGLISH_WORDS = {"the", "and", "with", "of", "readings", "reading", "alert", "alerts", "citizen", "citizens",
                 "open", "last", "device", "battery", "missing", "days", "per", "minute", "team", "pulse"}


@pytest.mark.parametrize("name", DASHBOARDS)
def test_danish_is_danish_and_english_is_the_same_dashboard(name):
    da, en = dashboard("da", name), dashboard("en", name)
    # Same structure, same SQL, same uids: only the words differ.
    assert [p["id"] for p in da["panels"]] == [p["id"] for p in en["panels"]]
    assert [p["gridPos"] for p in da["panels"]] == [p["gridPos"] for p in en["panels"]]
    assert [t["rawSql"] for p in da["panels"] for t in p["targets"]] == [
        t["rawSql"] for p in en["panels"] for t in p["targets"]]
    assert da["uid"] == en["uid"]
    da_texts, en_texts = _texts(da), _texts(en)
    assert da_texts.keys() == en_texts.keys()
    assert len(da_texts) > 50
    for path, text in da_texts.items():
        if text not in SAME_IN_BOTH and any(c in string.ascii_letters for c in text):
            assert text != en_texts[path], f"{path}: {text!r} is not translated"
        words = set(re.findall(r"[a-zæøå]+", text.lower()))
        assert not words & ENGLISH_WORDS, f"{path}: English in Danish: {text!r}"
    assert any(c in "æøåÆØÅ" for text in da_texts.values() for c in text)


def test_danish_titles_are_the_staffs_words():
    titles = {name: dashboard("da", name)["title"] for name in DASHBOARDS}
    assert titles == {
        "care-overview": "Omsorgsoverblik",
        "citizen-detail": "Borgerdetaljer",
        "fleet": "Udstyr og gateways",
        "ingest-operations": "Dataindlæsning og drift",
    }
    levels = json.dumps(dashboard("da", "care-overview"), ensure_ascii=False)
    for word in ('"Alarm"', '"Advarsel"', '"Ingen måling"', '"Forbundet"', '"Afbrudt"', '"Åben"', '"Kvitteret"'):
        assert word in levels
    assert all(text.da and text.en for text in TEXTS.values())


def test_datasource_yaml_says_what_sync_sends():
    provisioned = yaml.safe_load((PROVISIONING_DIR / "datasources" / "homevitals.yaml").read_text())
    [source] = provisioned["datasources"]
    compose_env = {
        "$HOMEVITALS_GRAFANA_DB_HOST": "timescaledb:5432",
        "$HOMEVITALS_GRAFANA_DB_NAME": "homevitals",
        "$HOMEVITALS_GRAFANA_DB_USER": "grafana_reader",
    }
    resolved = json.loads(json.dumps(source), object_hook=lambda d: {
        k: compose_env.get(v, v) if isinstance(v, str) else v for k, v in d.items()})
    wanted = DatasourceSpec().payload(password="$HOMEVITALS_GRAFANA_DB_PASSWORD")
    for key in ("uid", "name", "type", "access", "url", "user", "isDefault", "jsonData", "secureJsonData"):
        assert resolved[key] == wanted[key], key
    assert resolved["jsonData"]["timescaledb"] is True
    assert source["editable"] is False


def test_dashboard_provider_points_at_one_language_in_the_homevitals_folder():
    provider = yaml.safe_load((PROVISIONING_DIR / "dashboards" / "homevitals.yaml").read_text())
    [entry] = provider["providers"]
    assert (entry["type"], entry["folder"], entry["folderUid"]) == ("file", FolderSpec().title, FOLDER_UID)
    path = Path(entry["options"]["path"])
    assert path.name == "da" and path.parent == Path("/var/lib/grafana/dashboards/homevitals")


def test_docker_compose_gives_grafana_what_the_provisioning_files_expect():
    compose_file = REPO / "docker-compose.yml"
    grafana = yaml.safe_load(compose_file.read_text())["services"]["grafana"]
    environment = grafana["environment"]
    names = environment if isinstance(environment, list) else list(environment)
    names = [n.split("=", 1)[0] for n in names]
    # The values only (yaml.safe_load drops the comments), as Grafana expands them.
    values = json.dumps(yaml.safe_load((PROVISIONING_DIR / "datasources" / "homevitals.yaml").read_text()))
    for variable in set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", values)):
        assert variable in names, f"docker-compose.yml does not give Grafana ${variable}"
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"] if v.startswith("./")}
    assert mounts["./dashboards/provisioning"] == "/etc/grafana/provisioning"
    assert mounts["./dashboards/generated"] == "/var/lib/grafana/dashboards/homevitals"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dashboards.cli", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=False)


@pytest.mark.integration  # runs the CLI in a subprocess
def test_build_check_passes_and_rejects_an_unknown_language():
    checked = _cli("build", "--check")
    assert checked.returncode == 0, checked.stderr
    assert "up to date" in checked.stdout
    wrong = _cli("build", "--lang", "de")
    assert wrong.returncode == 2 and "unknown language 'de'" in wrong.stderr
