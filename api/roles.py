"""Who may do what: the role policy of the API, in one place (docs/api.md, "Roles").

- ``citizen``: their own data only (the ``citizen`` claim);
- ``caregiver``: citizens of their care team (the ``team`` claim); acts on alerts,
  thresholds and the devices of those citizens;
- ``clinician``: reads every citizen of the organisation, and FHIR; changes nothing;
- ``admin``: citizens, devices, gateways and assignments; no clinical readings.

Route handlers ask two questions: does the role carry the permission
(:func:`require`), and is this citizen inside the caller's scope (:func:`in_scope`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from api.errors import Forbidden


class Role(StrEnum):
    CITIZEN = "citizen"
    CAREGIVER = "caregiver"
    CLINICIAN = "clinician"
    ADMIN = "admin"


class Permission(StrEnum):
    CITIZENS_READ = "citizens:read"
    CITIZENS_WRITE = "citizens:write"
    CPR_READ = "cpr:read"
    CLINICAL_READ = "clinical:read"  # readings, reports, thresholds, alerts
    THRESHOLDS_WRITE = "thresholds:write"
    ALERTS_ACT = "alerts:act"
    DEVICES_READ = "devices:read"
    DEVICES_WRITE = "devices:write"
    GATEWAYS_ENROLL = "gateways:enroll"  # broker accounts: enroll and revoke gateways
    ASSIGNMENTS_READ = "assignments:read"
    ASSIGNMENTS_WRITE = "assignments:write"
    UNASSIGNED_READ = "unassigned:read"
    UNASSIGNED_ASSIGN = "unassigned:assign"
    ACCESS_LOG_READ = "access-log:read"  # a citizen's view of who looked at their data
    AUDIT_QUERY = "audit:query"
    FHIR_READ = "fhir:read"


_P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CITIZEN: frozenset({_P.CITIZENS_READ, _P.CPR_READ, _P.CLINICAL_READ, _P.ACCESS_LOG_READ}),
    Role.CAREGIVER: frozenset(
        {
            _P.CITIZENS_READ,
            _P.CLINICAL_READ,
            _P.THRESHOLDS_WRITE,
            _P.ALERTS_ACT,
            _P.DEVICES_READ,
            _P.ASSIGNMENTS_READ,
            _P.ASSIGNMENTS_WRITE,
            _P.UNASSIGNED_READ,
            _P.UNASSIGNED_ASSIGN,
        }
    ),
    Role.CLINICIAN: frozenset({_P.CITIZENS_READ, _P.CPR_READ, _P.CLINICAL_READ, _P.FHIR_READ}),
    Role.ADMIN: frozenset(
        {
            _P.CITIZENS_READ,
            _P.CITIZENS_WRITE,
            _P.CPR_READ,
            _P.DEVICES_READ,
            _P.DEVICES_WRITE,
            _P.GATEWAYS_ENROLL,
            _P.ASSIGNMENTS_READ,
            _P.ASSIGNMENTS_WRITE,
            _P.UNASSIGNED_READ,
            _P.UNASSIGNED_ASSIGN,
            _P.ACCESS_LOG_READ,
            _P.AUDIT_QUERY,
        }
    ),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller: subject, role and scope, straight from the token's claims."""

    sub: str
    role: Role
    team: str | None = None
    citizen_id: int | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def sees_everyone(self) -> bool:
        """Clinicians and admins are scoped to the whole organisation."""
        return self.role in (Role.CLINICIAN, Role.ADMIN)


def allowed_roles(permission: Permission) -> list[Role]:
    return [role for role in Role if permission in ROLE_PERMISSIONS[role]]


def role_refusal(principal: Principal, permission: Permission) -> str:
    """Why the caller's role may not do this: the detail of every role refusal."""
    roles = ", ".join(allowed_roles(permission))
    return f"role '{principal.role}' may not do this ({permission}); allowed: {roles}"


def require(principal: Principal, permission: Permission) -> None:
    """Raise 403 unless the caller's role carries the permission."""
    if not principal.can(permission):
        raise Forbidden(role_refusal(principal, permission))


def in_scope(principal: Principal, citizen_id: int, care_team: str) -> bool:
    """Is this citizen inside the caller's scope (own record, own team, or organisation)?"""
    if principal.role is Role.CITIZEN:
        return principal.citizen_id == citizen_id
    if principal.role is Role.CAREGIVER:
        return principal.team is not None and principal.team == care_team
    return principal.sees_everyone
