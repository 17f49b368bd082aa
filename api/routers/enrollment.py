"""Gateway enrollment, revocation and device re-binding (admin), and the installer's redeem.

``POST /enrollment/redeem`` is the one endpoint without a bearer token: the installer on the
Pi has only the one-time code. It is rate-limited per client address and in total, and
every attempt is recorded (``enrollment_attempts``). Answers that carry a password are sent
with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.context import CallerDep, DatabaseDep
from api.enrollment import service
from api.enrollment.broker import BrokerAdminFactory
from api.pagination import IdPath, Text100
from api.problems import CONFLICT, NOT_FOUND, _problem_response_doc
from api.roles import Permission, require
from homevitals.contract.models import GATEWAY_ID_PATTERN
from homevitals.enrollment import CA_FILE_NAME, GATEWAY_CONFIG_DIR, EnrollmentBundle

router = APIRouter(tags=["enrollment"])

GatewayIdPath = Annotated[str, Path(pattern=GATEWAY_ID_PATTERN, description="Gateway id, e.g. gw-0042.")]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Where `homevitals gateway join` puts the CA next to the config (its default folder).
DEFAULT_CA_PATH = GATEWAY_CONFIG_DIR / CA_FILE_NAME

REDEEM_REFUSALS: dict[int | str, dict[str, object]] = {
    404: _problem_response_doc("No such code on this hub."),
    409: _problem_response_doc("The code was already used."),
    410: _problem_response_doc("The code expired or was cancelled."),
    429: _problem_response_doc("Too many wrong codes from this address; see Retry-After."),
}


class EnrollmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Text100 | None = Field(default=None, description="Where it is, e.g. 'Hansen, Vejle'.")


class BundleOut(BaseModel):
    """The gateway's identity and broker credentials (homevitals.enrollment.v1)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="schema", examples=["homevitals.enrollment.v1"])
    gateway_id: str
    mqtt_host: str
    mqtt_port: int
    mqtt_tls: bool
    mqtt_ca_pem: str | None
    mqtt_username: str
    mqtt_client_id: str
    mqtt_password: str = Field(description="Secret. Shown once; the hub keeps no copy it can read.")


class EnrollmentOut(BaseModel):
    gateway_id: str
    code: str = Field(description="One-time code for `homevitals gateway join`, e.g. 7KQM-3TZX-H9PA.")
    expires_at: datetime
    config_toml: str = Field(
        description="The same credentials as a gateway config file (for installing without the code). "
        f"With a CA, it expects the CA at {DEFAULT_CA_PATH}."
    )
    bundle: BundleOut


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, description="As typed; case and dashes do not matter.")


class RevocationOut(BaseModel):
    gateway_id: str
    revoked_at: datetime
    codes_cancelled: int = Field(description="Unredeemed codes of this gateway that no longer work.")
    already_revoked: bool


class BindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gateway_id: str = Field(pattern=GATEWAY_ID_PATTERN, description="The gateway that serves the device now.")
    release_quarantined: bool = Field(
        default=False,
        description="Also release this device's readings quarantined because they came through that "
        "gateway (reason device_bound_to_other_gateway); assignments then attribute them.",
    )


class BindingOut(BaseModel):
    device_id: int
    previous_gateway_id: str | None
    gateway_id: str
    released: int = Field(description="Quarantined readings released.")


def _broker(request: Request) -> BrokerAdminFactory | None:
    factory: BrokerAdminFactory | None = request.app.state.broker_admin
    return factory


def _policy(request: Request) -> service.EnrollmentPolicy:
    policy: service.EnrollmentPolicy = request.app.state.enrollment_policy
    return policy


def _bundle_out(bundle: EnrollmentBundle) -> BundleOut:
    data = bundle.model_dump(mode="json", by_alias=True)
    data["mqtt_password"] = bundle.mqtt_password.get_secret_value()
    return BundleOut.model_validate(data)


@router.post(
    "/gateways/{gateway_id}/enrollment",
    response_model=EnrollmentOut,
    status_code=status.HTTP_201_CREATED,
    responses={**CONFLICT, 503: _problem_response_doc("No broker administration, or the broker refused.")},
    summary="Enroll a gateway: broker account, one-time code and config file (admin)",
)
async def enroll_gateway(
    *,
    gateway_id: GatewayIdPath,
    request: Request,
    response: Response,
    caller: CallerDep,
    database: DatabaseDep,
    body: EnrollmentCreate | None = None,
) -> EnrollmentOut:
    require(caller.principal, Permission.GATEWAYS_ENROLL)
    policy = _policy(request)
    async with database.transaction() as conn:
        enrollment = await service.enroll(
            conn,
            _broker(request),
            policy,
            gateway_id=gateway_id,
            description=body.description if body else None,
            caller=caller,
        )
    response.headers.update(NO_STORE)
    response.headers["Location"] = f"/api/v1/gateways/{gateway_id}"
    ca_file = DEFAULT_CA_PATH if enrollment.bundle.mqtt_ca_pem else None
    return EnrollmentOut(
        gateway_id=gateway_id,
        code=enrollment.code,
        expires_at=enrollment.expires_at,
        config_toml=enrollment.bundle.to_toml(ca_file=ca_file),
        bundle=_bundle_out(enrollment.bundle),
    )


@router.post(
    "/enrollment/redeem",
    response_model=BundleOut,
    responses=REDEEM_REFUSALS,
    summary="Redeem a one-time enrollment code for the gateway's bundle (no token; once per code)",
    openapi_extra={"security": []},
)
async def redeem_code(
    body: RedeemIn, request: Request, response: Response, database: DatabaseDep
) -> BundleOut:
    client = request.client.host if request.client else None
    async with database.transaction() as conn:
        bundle = await service.redeem(conn, _policy(request), code=body.code, client_address=client)
    response.headers.update(NO_STORE)
    return _bundle_out(bundle)


@router.post(
    "/gateways/{gateway_id}/revoke",
    response_model=RevocationOut,
    responses={**NOT_FOUND, 503: _problem_response_doc("No broker administration, or the broker refused.")},
    summary="Revoke a gateway: its broker account goes at once, its codes die (admin)",
)
async def revoke_gateway(
    gateway_id: GatewayIdPath, request: Request, caller: CallerDep, database: DatabaseDep
) -> RevocationOut:
    require(caller.principal, Permission.GATEWAYS_ENROLL)
    async with database.transaction() as conn:
        done = await service.revoke(conn, _broker(request), gateway_id=gateway_id, caller=caller)
    return RevocationOut(
        gateway_id=done.gateway_id,
        revoked_at=done.revoked_at,
        codes_cancelled=done.codes_cancelled,
        already_revoked=done.already_revoked,
    )


@router.put(
    "/devices/{device_id}/gateway",
    response_model=BindingOut,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Bind a device to the gateway that serves it now (admin re-bind)",
)
async def bind_device(
    device_id: IdPath, body: BindingIn, caller: CallerDep, database: DatabaseDep
) -> BindingOut:
    require(caller.principal, Permission.DEVICES_WRITE)
    async with database.transaction() as conn:
        done = await service.bind_device(
            conn,
            device_id=device_id,
            gateway_id=body.gateway_id,
            release_quarantined=body.release_quarantined,
            caller=caller,
        )
    return BindingOut(
        device_id=done.device_id,
        previous_gateway_id=done.previous_gateway_id,
        gateway_id=done.gateway_id,
        released=done.released,
    )
