"""Liveness and readiness: /healthz (the process answers), /readyz (the database answers)."""

from __future__ import annotations

from typing import Literal

import psycopg
from fastapi import APIRouter
from psycopg_pool import PoolTimeout
from pydantic import BaseModel

from api.context import DatabaseDep
from api.errors import ServiceUnavailable
from api.problems import Problem

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "ready"]


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"description": "The database does not answer.", "model": Problem}},
    summary="The database answers",
)
async def readyz(database: DatabaseDep) -> Health:
    try:
        await database.ping()
    except (PoolTimeout, psycopg.Error) as error:
        raise ServiceUnavailable(f"the database does not answer: {type(error).__name__}") from error
    return Health(status="ready")
