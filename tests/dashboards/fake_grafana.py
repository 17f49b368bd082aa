"""FakeGrafana: a stand-in for Grafana's HTTP API, because Grafana cannot run on these machines.

It is a real HTTP server (http.server in a thread) that speaks the handful of endpoints
``homevitals dashboards sync`` uses, with Grafana's paths, status codes and response shapes
(https://grafana.com/docs/grafana/latest/developers/http_api/): folders by uid, data
sources by uid (the password goes in via ``secureJsonData`` and comes back only as
``secureJsonFields``), dashboards by uid (Grafana adds ``id`` and ``version``, and refuses to
save over a provisioned one). It records every request so tests can assert what sync did.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str | None


class FakeGrafana:
    def __init__(self, token: str) -> None:
        self.token = token
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}  # uid -> {"dashboard", "meta"}
        self.requests: list[Recorded] = []
        self._next_id = 1
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-grafana", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- the API --------------------------------------------------------------------------
    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = path.split("?", maxsplit=1)[0].strip("/").split("/")
        match method, parts:
            case "GET", ["api", "health"]:
                return 200, {"database": "ok", "version": "11.4.0"}
            case "GET", ["api", "folders", uid]:
                if uid not in self.folders:
                    return 404, {"message": "folder not found", "status": "not-found"}
                return 200, self.folders[uid]
            case "POST", ["api", "folders"]:
                uid = body.get("uid") or f"f{self.new_id()}"
                if uid in self.folders:
                    return 409, {"message": "a folder with the same uid already exists"}
                self.folders[uid] = {"id": self.new_id(), "uid": uid, "title": body["title"], "version": 1}
                return 200, self.folders[uid]
            case "PUT", ["api", "folders", uid]:
                if uid not in self.folders:
                    return 404, {"message": "folder not found"}
                folder = self.folders[uid]
                folder.update(title=body.get("title", folder["title"]), version=folder["version"] + 1)
                return 200, folder
            case "GET", ["api", "datasources", "uid", uid]:
                if uid not in self.datasources:
                    return 404, {"message": "Data source not found"}
                return 200, self._public_datasource(uid)
            case "POST", ["api", "datasources"]:
                if any(ds["name"] == body["name"] for ds in self.datasources.values()):
                    return 409, {"message": "data source with the same name already exists"}
                uid = body.get("uid") or f"d{self.new_id()}"
                self._store_datasource(uid, body, self.new_id())
                return 200, {"datasource": self._public_datasource(uid), "id": self.datasources[uid]["id"],
                             "message": "Datasource added", "name": body["name"]}
            case "PUT", ["api", "datasources", "uid", uid]:
                if uid not in self.datasources:
                    return 404, {"message": "Data source not found"}
                if self.datasources[uid].get("readOnly"):
                    return 403, {"message": "Cannot update read-only data source"}
                self._store_datasource(uid, body, self.datasources[uid]["id"])
                return 200, {"datasource": self._public_datasource(uid), "message": "Datasource updated"}
            case "GET", ["api", "dashboards", "uid", uid]:
                if uid not in self.dashboards:
                    return 404, {"message": "Dashboard not found"}
                return 200, copy.deepcopy(self.dashboards[uid])
            case "POST", ["api", "dashboards", "db"]:
                return self._save_dashboard(body)
        return 404, {"message": "Not found"}

    def _store_datasource(self, uid: str, body: dict[str, Any], ds_id: int) -> None:
        stored = {k: copy.deepcopy(v) for k, v in body.items() if k != "secureJsonData"}
        stored.update(uid=uid, id=ds_id, readOnly=self.datasources.get(uid, {}).get("readOnly", False))
        stored.setdefault("database", "")
        self.datasources[uid] = stored
        # Grafana keeps secrets that an update does not mention.
        self.secrets.setdefault(uid, {}).update(body.get("secureJsonData") or {})

    def _public_datasource(self, uid: str) -> dict[str, Any]:
        public = copy.deepcopy(self.datasources[uid])
        public["secureJsonFields"] = dict.fromkeys(self.secrets.get(uid, {}), True)
        return public

    def _save_dashboard(self, body: dict[str, Any]) -> tuple[int, Any]:
        dashboard = copy.deepcopy(body["dashboard"])
        uid = dashboard["uid"]
        folder_uid = body.get("folderUid")
        if folder_uid and folder_uid not in self.folders:
            return 400, {"message": "folder not found"}
        existing = self.dashboards.get(uid)
        if existing and existing["meta"].get("provisioned"):
            return 400, {"message": "Cannot save provisioned dashboard"}
        if existing and not body.get("overwrite"):
            return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
        version = existing["dashboard"]["version"] + 1 if existing else 1
        dashboard["id"] = existing["dashboard"]["id"] if existing else self.new_id()
        dashboard["version"] = version
        self.dashboards[uid] = {
            "dashboard": dashboard,
            "meta": {"folderUid": folder_uid or "", "provisioned": False, "slug": uid, "version": version},
        }
        return 200, {"id": dashboard["id"], "uid": uid, "url": f"/d/{uid}", "status": "success", "version": version}


def _handler_for(fake: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            authorization = self.headers.get("Authorization")
            with fake._lock:
                fake.requests.append(Recorded(method, self.path, body, authorization))
                if authorization != f"Bearer {fake.token}":
                    status, answer = 401, {"message": "Unauthorized"}
                else:
                    status, answer = fake.handle(method, self.path, body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
            """Quiet: the test asserts on ``requests`` instead."""

    return Handler
