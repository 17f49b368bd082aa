"""``homevitals dashboards sync`` against FakeGrafana, a real HTTP server standing in for
Grafana (which cannot run on these machines): the requests made, idempotency, dry-run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards.build import generate
from dashboards.errors import GrafanaRequestError, MissingSecretError, SyncConflictError
from dashboards.grafana_objects import DatasourceSpec, FolderSpec
from dashboards.sync import GrafanaSync, Step

pytestmark = pytest.mark.integration  # a real HTTP server, and the CLI in a subprocess

REPO = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token"
PASSWORD = "pw"
UIDS = ["homevitals-care-overview", "homevitals-citizen-detail", "homevitals-fleet", "homevitals-ingest"]


def plan(fake, password: str | None = PASSWORD, lang: str = "da", rotate: bool = False) -> tuple[GrafanaSync, list[Step]]:
    syncer = GrafanaSync.connect(fake.url, TOKEN)
    steps = syncer.plan(folder=FolderSpec(), datasource=DatasourceSpec(), password=password,
                        dashboards=generate(lang), rotate_password=rotate)  # type: ignore[arg-type]
    return syncer, steps


def sync(fake, **kwargs) -> list[Step]:
    syncer, steps = plan(fake, **kwargs)
    syncer.apply(steps)
    return steps


def actions(steps: list[Step]) -> list[tuple[str, str, str]]:
    return [(s.kind, s.uid, s.action) for s in steps]


def test_first_sync_creates_the_folder_the_datasource_and_every_dashboard(fake_grafana):
    steps = sync(fake_grafana)
    assert actions(steps) == [("folder", "homevitals", "create"), ("datasource", "homevitals-timescaledb", "create")] + [
        ("dashboard", uid, "create") for uid in UIDS]
    requests = [(r.method, r.path) for r in fake_grafana.requests]
    assert requests == [
        ("GET", "/api/folders/homevitals"),
        ("GET", "/api/datasources/uid/homevitals-timescaledb"),
        *[("GET", f"/api/dashboards/uid/{uid}") for uid in UIDS],
        ("POST", "/api/folders"),
        ("POST", "/api/datasources"),
        *[("POST", "/api/dashboards/db")] * 4,
    ]
    assert {r.authorization for r in fake_grafana.requests} == {f"Bearer {TOKEN}"}
    folder, datasource, *dashboards = fake_grafana.writes()
    assert folder.body == {"title": "homevitals", "uid": "homevitals"}
    assert datasource.body == DatasourceSpec().payload("pw")
    assert datasource.body["jsonData"]["timescaledb"] is True
    assert datasource.body["user"] == "grafana_reader"
    for request, (name, model) in zip(dashboards, generate("da").items(), strict=True):
        assert request.body == {"dashboard": {**model, "id": None}, "folderUid": "homevitals", "overwrite": True,
                                "message": "homevitals dashboards sync"}, name
    stored = fake_grafana.dashboards["homevitals-care-overview"]
    assert stored["meta"]["folderUid"] == "homevitals"
    assert stored["dashboard"]["title"] == "Omsorgsoverblik"
    assert fake_grafana.secrets["homevitals-timescaledb"] == {"password": "pw"}


def test_second_sync_changes_nothing(fake_grafana):
    sync(fake_grafana)
    before = len(fake_grafana.requests)
    steps = sync(fake_grafana)
    assert {s.action for s in steps} == {"unchanged"}
    assert all(r.method == "GET" for r in fake_grafana.requests[before:])
    assert len(fake_grafana.requests) - before == 6


def test_drift_in_grafana_is_named_and_only_that_is_rewritten(fake_grafana):
    sync(fake_grafana)
    fake_grafana.dashboards["homevitals-fleet"]["dashboard"]["panels"][2]["title"] = "edited in the UI"
    source = fake_grafana.datasources["homevitals-timescaledb"]
    source["jsonData"]["timescaledb"] = False
    source["jsonData"]["tlsSkipVerify"] = True  # someone's own setting: kept
    fake_grafana.folders["homevitals"]["title"] = "Renamed"
    before = len(fake_grafana.requests)
    _, steps = plan(fake_grafana)
    changed = {s.uid: (s.action, s.changes) for s in steps if s.action != "unchanged"}
    assert changed == {
        "homevitals": ("update", ("title",)),
        "homevitals-timescaledb": ("update", ("jsonData.timescaledb",)),
        "homevitals-fleet": ("update", ("panels[2].title",)),
    }
    sync(fake_grafana)
    assert [(r.method, r.path) for r in fake_grafana.requests[before:] if r.method != "GET"] == [
        ("PUT", "/api/folders/homevitals"),
        ("PUT", "/api/datasources/uid/homevitals-timescaledb"),
        ("POST", "/api/dashboards/db"),
    ]
    assert fake_grafana.datasources["homevitals-timescaledb"]["jsonData"]["tlsSkipVerify"] is True
    assert fake_grafana.secrets["homevitals-timescaledb"] == {"password": "pw"}  # kept, not resent
    assert {s.action for s in plan(fake_grafana)[1]} == {"unchanged"}


def test_password_is_sent_when_grafana_has_none_or_on_rotation(fake_grafana):
    with pytest.raises(MissingSecretError, match="HOMEVITALS_GRAFANA_DB_PASSWORD"):
        plan(fake_grafana, password=None)
    sync(fake_grafana, password="first")
    assert plan(fake_grafana, password=None)[1][1].action == "unchanged"  # nothing to compare it with
    assert plan(fake_grafana, password="second")[1][1].action == "unchanged"
    rotated = sync(fake_grafana, password="second", rotate=True)[1]
    assert (rotated.action, rotated.changes) == ("update", ("password",))
    assert fake_grafana.secrets["homevitals-timescaledb"] == {"password": "second"}
    fake_grafana.secrets["homevitals-timescaledb"].clear()
    repaired = sync(fake_grafana, password="third")[1]
    assert (repaired.action, repaired.changes) == ("update", ("password",))


def test_english_build_syncs_under_the_same_uids(fake_grafana):
    sync(fake_grafana)
    steps = sync(fake_grafana, lang="en")
    assert [s.action for s in steps[2:]] == ["update"] * 4
    assert fake_grafana.dashboards["homevitals-care-overview"]["dashboard"]["title"] == "Care overview"


def test_objects_provisioned_from_files_are_conflicts_not_overwritten(fake_grafana):
    sync(fake_grafana)
    fake_grafana.dashboards["homevitals-fleet"]["meta"]["provisioned"] = True
    assert plan(fake_grafana)[1][4].action == "unchanged"  # identical: fine
    fake_grafana.dashboards["homevitals-fleet"]["dashboard"]["title"] = "old"
    with pytest.raises(SyncConflictError, match="provisioned from files"):
        plan(fake_grafana)
    fake_grafana.dashboards["homevitals-fleet"]["meta"]["provisioned"] = False
    fake_grafana.datasources["homevitals-timescaledb"].update(readOnly=True, url="elsewhere:5432")
    with pytest.raises(SyncConflictError, match=r"differs \(url\) but is provisioned from a file"):
        plan(fake_grafana)


def test_a_wrong_token_is_an_error_naming_the_request(fake_grafana):
    syncer = GrafanaSync.connect(fake_grafana.url, "wrong")
    with pytest.raises(GrafanaRequestError, match="GET folder homevitals failed \\(HTTP 401\\)") as caught:
        syncer.plan(folder=FolderSpec(), datasource=DatasourceSpec(), password="pw", dashboards=generate("da"))
    assert caught.value.status_code == 401


# -- the command line ----------------------------------------------------------------------
def cli(*args: str, password: str | None = PASSWORD, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARDS_", "HOMEVITALS_GRAFANA_", "GRAFANA_"))}
    env.update(extra_env)
    if password is not None:
        env["HOMEVITALS_GRAFANA_DB_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "dashboards.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120, check=False)


DRY_RUN_ON_EMPTY_GRAFANA = """\
folder     homevitals                   create  [homevitals]
datasource homevitals-timescaledb       create  [homevitals TimescaleDB]
dashboard  homevitals-care-overview     create  [Omsorgsoverblik]
dashboard  homevitals-citizen-detail    create  [Borgerdetaljer]
dashboard  homevitals-fleet             create  [Udstyr og gateways]
dashboard  homevitals-ingest            create  [Dataindlæsning og drift]
6 would be created, 0 would be updated, 0 unchanged (dry run: nothing was changed)
"""


def test_cli_dry_run_prints_the_plan_and_writes_nothing_then_sync_is_idempotent(fake_grafana):
    dry = cli("sync", "--url", fake_grafana.url, "--token", TOKEN, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == DRY_RUN_ON_EMPTY_GRAFANA
    assert fake_grafana.writes() == [] and len(fake_grafana.requests) == 6
    assert not fake_grafana.dashboards and not fake_grafana.datasources and not fake_grafana.folders

    first = cli("sync", "--url", fake_grafana.url, "--token", TOKEN)
    assert first.returncode == 0, first.stderr
    assert first.stdout.endswith("6 were created, 0 were updated, 0 unchanged\n")
    assert len(fake_grafana.writes()) == 6

    fake_grafana.dashboards["homevitals-ingest"]["dashboard"]["refresh"] = "5s"
    dry_again = cli("sync", "--url", fake_grafana.url, "--token", TOKEN, "--dry-run", password=None)
    assert dry_again.returncode == 0, dry_again.stderr
    assert "dashboard  homevitals-ingest            update: refresh  [Dataindlæsning og drift]\n" in dry_again.stdout
    assert dry_again.stdout.endswith(
        "0 would be created, 1 would be updated, 5 unchanged (dry run: nothing was changed)\n")
    assert len(fake_grafana.writes()) == 6

    second = cli("sync", "--url", fake_grafana.url, "--token", TOKEN)
    third = cli("sync", "--url", fake_grafana.url, "--token", TOKEN, "--lang", "da")
    assert second.stdout.endswith("0 were created, 1 were updated, 5 unchanged\n")
    assert third.stdout.endswith("0 were created, 0 were updated, 6 unchanged\n")
    assert len(fake_grafana.writes()) == 7


def test_cli_reports_errors_and_exits_non_zero(fake_grafana):
    no_password = cli("sync", "--url", fake_grafana.url, "--token", TOKEN, password=None)
    assert no_password.returncode == 1
    assert "HOMEVITALS_GRAFANA_DB_PASSWORD is not set" in no_password.stderr
    bad_token = cli("sync", "--url", fake_grafana.url, "--token", "nope")
    assert bad_token.returncode == 1 and "HTTP 401" in bad_token.stderr
    unreachable = cli("sync", "--url", "http://127.0.0.1:9", "--token", TOKEN)
    assert unreachable.returncode == 1 and "GET folder homevitals failed (no response)" in unreachable.stderr
    no_url = cli("sync", "--token", TOKEN)
    assert no_url.returncode == 2 and "--url" in no_url.stderr
    assert fake_grafana.writes() == []


def test_cli_points_the_data_links_at_dashboards_web_url(fake_grafana):
    url = "https://homevitals.kommune.dk/app"
    result = cli("sync", "--url", fake_grafana.url, "--token", TOKEN, DASHBOARDS_WEB_URL=url)
    assert result.returncode == 0, result.stderr
    for uid in ("homevitals-care-overview", "homevitals-citizen-detail"):
        variables = fake_grafana.dashboards[uid]["dashboard"]["templating"]["list"]
        assert [v["query"] for v in variables if v["name"] == "web"] == [url], uid
    bad = cli("sync", "--url", fake_grafana.url, "--token", TOKEN, DASHBOARDS_WEB_URL="homevitals/app")
    assert bad.returncode == 2 and bad.stderr.startswith("sync failed: DASHBOARDS_WEB_URL: String should match")
