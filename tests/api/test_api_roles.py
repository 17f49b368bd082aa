"""Role matrix: every role against every endpoint, allowed or denied, about citizen Anna.

Principals: Anna herself (citizen), a caregiver of her team, a caregiver of another team
(Anna is outside their scope), a clinician and an admin. Endpoints that change state get a
fresh target per principal. A refused request that names a citizen must leave exactly one
'denied' row in the audit log; other refusals none.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from api_support import Seed, audit_rows, bearer, insert_alert, make_settings, principals

from api.app import create_app
from tests.support.factories import NORD, insert_assignment, insert_citizen, insert_device, insert_gateway

CITIZEN, CAREGIVER, OTHER_TEAM, CLINICIAN, ADMIN = (
    "citizen",
    "caregiver",
    "caregiver_other_team",
    "clinician",
    "admin",
)
EVERYONE = {CITIZEN, CAREGIVER, OTHER_TEAM, CLINICIAN, ADMIN}
CARE_READERS = {CITIZEN, CAREGIVER, CLINICIAN}  # Anna's clinical data: herself, her team, clinicians
_unique = itertools.count(1)


@dataclass
class Target:
    """What one request of the matrix sends; made fresh for each principal."""

    path: str
    body: dict[str, Any] | None = None
    citizen: int | None = None  # the citizen a refusal is audited for (None: Anna)


Make = Callable[[Seed, psycopg.Connection], Target]


@dataclass
class Endpoint:
    method: str
    make: Make
    allowed: set[str]
    ok: int = 200
    audits_denial: bool = False  # the request names a citizen (directly or through an id)

    def __str__(self) -> str:
        return f"{self.method} {self.make.__doc__ or self.make.__name__}"


def fixed(path: str, body: dict[str, Any] | None = None) -> Make:
    def make(s: Seed, _conn: psycopg.Connection) -> Target:
        return Target(path.format(s=s), body)

    make.__doc__ = path
    return make


def fresh_citizen(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/citizens/{new citizen}"""
    citizen = insert_citizen(conn, "Dorte", "Dahl", NORD)
    return Target(f"/api/v1/citizens/{citizen}", citizen=citizen)


def new_citizen(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/citizens"""
    return Target("/api/v1/citizens", {"given_name": "Eva", "family_name": "Elm", "care_team": NORD})


def new_device(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/devices"""
    return Target("/api/v1/devices", {"address": f"A4:C1:38:00:03:{next(_unique):02X}", "kind": "weight"})


def new_gateway(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/gateways"""
    return Target("/api/v1/gateways", {"gateway_id": f"gw-new-{next(_unique)}", "description": "spare"})


def new_enrollment(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/gateways/{id}/enrollment"""
    return Target(f"/api/v1/gateways/gw-enrol-{next(_unique)}/enrollment", {})


def gateway_to_revoke(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/gateways/{id}/revoke"""
    gateway = f"gw-revoke-{next(_unique)}"
    insert_gateway(conn, gateway)
    return Target(f"/api/v1/gateways/{gateway}/revoke")


def device_to_bind(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/devices/{id}/gateway"""
    device = insert_device(conn, f"A4:C1:38:00:04:{next(_unique):02X}")
    return Target(f"/api/v1/devices/{device}/gateway", {"gateway_id": s.gateway_nord})


def new_assignment(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/assignments"""
    device = insert_device(conn, f"A4:C1:38:00:01:{next(_unique):02X}")
    return Target("/api/v1/assignments", {"device_id": device, "citizen_id": s.anna, "user_slot": 1})


def assignment_to_end(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/assignments/{id}/end"""
    device = insert_device(conn, f"A4:C1:38:00:02:{next(_unique):02X}")
    return Target(f"/api/v1/assignments/{insert_assignment(conn, device, s.anna)}/end", {})


def assign_unassigned(s: Seed, conn: psycopg.Connection) -> Target:
    """/api/v1/unassigned-readings/assign"""
    return Target("/api/v1/unassigned-readings/assign", {"assignment_id": s.assignment_anna})


def alert_action(action: str) -> Make:
    def make(s: Seed, conn: psycopg.Connection) -> Target:
        conn.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = now() WHERE citizen_id = %s", (s.anna,)
        )
        return Target(f"/api/v1/alerts/{insert_alert(conn, s.anna)}/{action}", {"note": "called her"})

    make.__doc__ = f"/api/v1/alerts/{{id}}/{action}"
    return make


def bp_observation(s: Seed, conn: psycopg.Connection) -> Target:
    """/fhir/Observation/bp-{reading_id}"""
    return Target(f"/fhir/Observation/bp-{s.anna_readings[0]}")


THRESHOLDS = {
    "thresholds": [
        {"metric": "systolic", "alert_low": 90, "warn_low": 100, "warn_high": 140, "alert_high": 170}
    ]
}
REPORT = "/api/v1/citizens/{s.anna}/reports/home-bp"
# Without a token by design: the installer on the Pi has only the one-time code.
PUBLIC = {"/api/v1/enrollment/redeem"}
ENDPOINTS = [
    Endpoint("GET", fixed("/api/v1/citizens"), EVERYONE),
    Endpoint("POST", new_citizen, {ADMIN}, ok=201),
    Endpoint("GET", fixed("/api/v1/citizens/{s.anna}"), EVERYONE - {OTHER_TEAM}, audits_denial=True),
    Endpoint("PATCH", fixed("/api/v1/citizens/{s.anna}", {"active": True}), {ADMIN}, audits_denial=True),
    Endpoint("DELETE", fresh_citizen, {ADMIN}, ok=204, audits_denial=True),
    Endpoint("GET", fixed("/api/v1/devices"), {CAREGIVER, OTHER_TEAM, ADMIN}),
    Endpoint("GET", fixed("/api/v1/devices/{s.device_anna}"), {CAREGIVER, ADMIN}, audits_denial=True),
    Endpoint("POST", new_device, {ADMIN}, ok=201),
    Endpoint("GET", fixed("/api/v1/gateways"), {CAREGIVER, OTHER_TEAM, ADMIN}),
    Endpoint("GET", fixed("/api/v1/gateways/{s.gateway_nord}"), {CAREGIVER, ADMIN}),
    Endpoint("POST", new_gateway, {ADMIN}, ok=201),
    Endpoint("POST", new_enrollment, {ADMIN}, ok=201),
    Endpoint("POST", gateway_to_revoke, {ADMIN}),
    Endpoint("PUT", device_to_bind, {ADMIN}),
    # No token needed (the installer has only the code); a wrong code is 404 for anyone.
    Endpoint("POST", fixed("/api/v1/enrollment/redeem", {"code": "0000-0000-0000"}), EVERYONE, ok=404),
    Endpoint("GET", fixed("/api/v1/assignments"), {CAREGIVER, OTHER_TEAM, ADMIN}),
    Endpoint("GET", fixed("/api/v1/assignments?citizen_id={s.anna}"), {CAREGIVER, ADMIN}, audits_denial=True),
    Endpoint("GET", fixed("/api/v1/assignments/{s.assignment_anna}"), {CAREGIVER, ADMIN}, audits_denial=True),
    Endpoint("POST", new_assignment, {CAREGIVER, ADMIN}, ok=201, audits_denial=True),
    Endpoint("POST", assignment_to_end, {CAREGIVER, ADMIN}, audits_denial=True),
    Endpoint("GET", fixed("/api/v1/citizens/{s.anna}/readings"), CARE_READERS, audits_denial=True),
    Endpoint("GET", fixed("/api/v1/citizens/{s.anna}/readings?bucket=1d"), CARE_READERS, audits_denial=True),
    Endpoint("GET", fixed("/api/v1/unassigned-readings"), {CAREGIVER, OTHER_TEAM, ADMIN}),
    Endpoint("POST", assign_unassigned, {CAREGIVER, ADMIN}, audits_denial=True),
    Endpoint("GET", fixed("/api/v1/citizens/{s.anna}/thresholds"), CARE_READERS, audits_denial=True),
    Endpoint(
        "PUT", fixed("/api/v1/citizens/{s.anna}/thresholds", THRESHOLDS), {CAREGIVER}, audits_denial=True
    ),
    Endpoint("GET", fixed("/api/v1/alerts"), EVERYONE - {ADMIN}),
    Endpoint("GET", fixed("/api/v1/alerts?citizen_id={s.anna}"), CARE_READERS, audits_denial=True),
    Endpoint("GET", fixed("/api/v1/alerts/{s.alert_anna}"), CARE_READERS, audits_denial=True),
    Endpoint("POST", alert_action("acknowledge"), {CAREGIVER}, audits_denial=True),
    Endpoint("POST", alert_action("resolve"), {CAREGIVER}, audits_denial=True),
    Endpoint("GET", fixed("/api/v1/citizens/{s.anna}/access-log"), {CITIZEN, ADMIN}, audits_denial=True),
    Endpoint("GET", fixed("/api/v1/audit"), {ADMIN}),
    Endpoint("GET", fixed(REPORT + "?end=2026-03-04"), CARE_READERS, audits_denial=True),
    Endpoint("GET", fixed(REPORT + ".html?end=2026-03-04"), CARE_READERS, audits_denial=True),
    Endpoint("GET", fixed(REPORT + ".pdf?end=2026-03-04"), CARE_READERS, audits_denial=True),
    Endpoint("GET", fixed("/fhir/Observation?patient={s.anna}"), {CLINICIAN}, audits_denial=True),
    Endpoint("GET", bp_observation, {CLINICIAN}, audits_denial=True),
    Endpoint("GET", fixed("/fhir/Patient/{s.anna}"), {CLINICIAN}, audits_denial=True),
    Endpoint("GET", fixed("/fhir/Device/{s.device_anna}"), {CLINICIAN}, audits_denial=True),
]


async def test_role_matrix(client, seeded: Seed, db_dsn: str):
    """One database for the whole matrix (fresh targets keep the cases apart); every mismatch is listed."""
    tokens = principals(seeded)
    mismatches: list[str] = []
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        for endpoint in ENDPOINTS:
            # Denied principals first, so an allowed one changing state cannot mask a denial.
            for principal in sorted(tokens, key=lambda p: p in endpoint.allowed):
                problem = await _check(endpoint, principal, tokens[principal], client, seeded, conn)
                if problem:
                    mismatches.append(f"{endpoint} as {principal}: {problem}")
    assert not mismatches, "\n".join(mismatches)


async def _check(
    endpoint: Endpoint, principal: str, token: str, client, seeded: Seed, conn: psycopg.Connection
) -> str | None:
    target = endpoint.make(seeded, conn)
    denied_before = len(audit_rows(conn, outcome="denied"))
    response = await client.request(endpoint.method, target.path, json=target.body, headers=bearer(token))
    allowed = principal in endpoint.allowed
    expected = endpoint.ok if allowed else 403
    if response.status_code != expected:
        return f"expected {expected}, got {response.status_code} {response.text[:300]}"
    denials = audit_rows(conn, outcome="denied")[denied_before:]
    if allowed or not endpoint.audits_denial:
        return f"unexpected 'denied' audit rows {denials}" if denials else None
    if response.headers["content-type"] != "application/problem+json" or response.json()["status"] != 403:
        return f"the 403 is not a problem document: {response.headers['content-type']} {response.text[:200]}"
    if len(denials) != 1:
        return f"expected one 'denied' audit row, got {denials}"
    if denials[0]["citizen_id"] != (target.citizen or seeded.anna) or denials[0]["actor"] != _sub(token):
        return f"the 'denied' audit row names the wrong citizen or actor: {denials[0]}"
    return None


def _sub(token: str) -> str:
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def test_every_route_is_in_the_matrix(seeded: Seed, db_dsn: str):
    operations = create_app(make_settings(db_dsn)).openapi()["paths"]
    patterns = {
        (method.upper(), path): re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        for path, item in operations.items()
        for method in item
        if path.startswith(("/api/", "/fhir/"))
    }
    covered = set()
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        for endpoint in ENDPOINTS:
            path = endpoint.make(seeded, conn).path.split("?")[0]
            covered |= {
                key for key, pattern in patterns.items() if key[0] == endpoint.method and pattern.match(path)
            }
    assert set(patterns) - covered == set()


async def test_lists_are_scoped(client, seeded: Seed):
    tokens = principals(seeded)

    async def ids(principal: str, path: str, key: str = "id") -> set[Any]:
        response = await client.get(path, headers=bearer(tokens[principal]))
        assert response.status_code == 200, response.text
        return {item[key] for item in response.json()["items"]}

    assert await ids(CITIZEN, "/api/v1/citizens") == {seeded.anna}
    assert await ids(CAREGIVER, "/api/v1/citizens") == {seeded.anna, seeded.bo}
    assert await ids(OTHER_TEAM, "/api/v1/citizens") == {seeded.carl}
    assert await ids(CLINICIAN, "/api/v1/citizens") == {seeded.anna, seeded.bo, seeded.carl}
    assert await ids(ADMIN, "/api/v1/citizens") == {seeded.anna, seeded.bo, seeded.carl}
    assert await ids(CITIZEN, "/api/v1/alerts", "citizen_id") == {seeded.anna}
    assert await ids(CAREGIVER, "/api/v1/alerts", "citizen_id") == {seeded.anna}
    assert await ids(OTHER_TEAM, "/api/v1/alerts", "citizen_id") == {seeded.carl}
    assert await ids(CLINICIAN, "/api/v1/alerts", "citizen_id") == {seeded.anna, seeded.carl}
    assert await ids(CAREGIVER, "/api/v1/devices") == {seeded.device_anna}
    assert await ids(OTHER_TEAM, "/api/v1/devices") == {seeded.device_carl}
    assert await ids(ADMIN, "/api/v1/devices") == {
        seeded.device_anna,
        seeded.device_carl,
        seeded.device_spare,
    }
    assert await ids(CAREGIVER, "/api/v1/gateways", "gateway_id") == {seeded.gateway_nord}
    assert await ids(OTHER_TEAM, "/api/v1/gateways", "gateway_id") == {seeded.gateway_syd}
    assert await ids(CAREGIVER, "/api/v1/assignments", "citizen_id") == {seeded.anna}
    assert await ids(OTHER_TEAM, "/api/v1/assignments", "citizen_id") == {seeded.carl}


async def test_cpr_only_for_roles_that_may_see_it(client, seeded: Seed):
    tokens = principals(seeded)
    for principal, sees in ((CITIZEN, True), (CAREGIVER, False), (CLINICIAN, True), (ADMIN, True)):
        body = (await client.get(f"/api/v1/citizens/{seeded.anna}", headers=bearer(tokens[principal]))).json()
        assert ("cpr" in body) is sees, principal
        if sees:
            assert body["cpr"] == "0101501234"


async def test_every_operation_without_a_token_is_401_with_a_bearer_challenge(
    client, seeded: Seed, db_dsn: str
):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        targets = [(e.method, e.make(seeded, conn)) for e in ENDPOINTS]
    for method, target in targets:
        if target.path in PUBLIC:
            continue
        response = await client.request(method, target.path, json=target.body)
        assert response.status_code == 401, (method, target.path)
        assert response.headers["www-authenticate"] == 'Bearer realm="homevitals"'
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert (
            problem["type"].endswith("/not-authenticated")
            and problem["instance"] == target.path.split("?")[0]
        )
    assert audit_rows(db_dsn) == []  # nobody was identified, nothing was read


async def test_health_needs_no_token(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
