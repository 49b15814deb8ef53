"""The caller's environment: browser origins allowed with scoped tokens, the default schedule."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field, StringConstraints

from ferry.api.deps import ApiScope, DbSession, body
from ferry.api.envelope import ok
from ferry.api.schemas.common import Input
from ferry.db.models import Environment
from ferry.services import organizations

router = APIRouter(prefix="/environment", tags=["environment"])

Origin = Annotated[
    str,
    StringConstraints(
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$", max_length=255, strip_whitespace=True
    ),
]


class EnvironmentPatch(Input):
    allowed_origins: Annotated[list[Origin], Field(max_length=100)] | None = None
    default_frequency_minutes: Literal[15, 60, 360, 720, 1440] | None = None


class EnvironmentUpdate(Input):
    environment: EnvironmentPatch


@router.get("")
def get_environment(session: DbSession, scope: ApiScope) -> dict[str, Any]:
    env = session.get_one(Environment, scope.environment_id)
    return ok({"environment": organizations.environment_view(env)})


@router.patch("")
def update_environment(
    session: DbSession, scope: ApiScope, payload: EnvironmentUpdate = body(EnvironmentUpdate)
) -> dict[str, Any]:
    given = payload.environment
    env = organizations.update_environment(
        session,
        scope=scope,
        allowed_origins=given.allowed_origins,
        default_frequency_minutes=given.default_frequency_minutes,
    )
    return ok({"environment": organizations.environment_view(env)}, "environment updated")
