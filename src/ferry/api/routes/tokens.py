"""Scoped auth tokens for recipients' browsers (spec §2.2, §6.1 #56), and the routes that
exist for them: a recipient's destinations and models (the React SDK's calls)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field, model_validator

from ferry.api import render
from ferry.api.deps import AnyScope, ApiScope, ApiVersionDep, DbSession, Pagination, body
from ferry.api.envelope import ok
from ferry.api.params import uuid_param
from ferry.api.schemas.common import Input
from ferry.db.models import DataModel, Destination
from ferry.errors import InvalidInput
from ferry.fields import Short
from ferry.scope import Scope
from ferry.services import destinations, models, products, recipients, tokens
from ferry.services.views import model_view

router = APIRouter(tags=["scoped tokens"])


class ScopedTokenRequest(Input):
    """2023-12-01: the recipient by id; the destination (or the changed fields of one) that the
    browser will submit with the token, if it will create or change one."""

    recipient_id: uuid.UUID
    application_origin: Short | None = None
    destination: dict[str, Any] | None = Field(default=None)


class ScopedTokenRequestBase(Input):
    """2022-01-01: the recipient named inside the destination."""

    application_origin: Short | None = None
    recipient_id: uuid.UUID | None = None
    destination: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _names_a_recipient(self) -> ScopedTokenRequestBase:
        inner = self.destination or {}
        if self.recipient_id is None and not (
            inner.get("recipient_id") or inner.get("id_in_provider_system")
        ):
            raise ValueError(
                "name the recipient: recipient_id, or destination.id_in_provider_system"
            )
        return self


@router.post("/actions/generate-scoped-auth-token")
def generate_scoped_auth_token(
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    payload: ScopedTokenRequest = body(ScopedTokenRequest, ScopedTokenRequestBase),
) -> dict[str, Any]:
    destination = payload.destination
    recipient_id = getattr(payload, "recipient_id", None)
    provider_id = None
    if version.is_base and recipient_id is None and destination:
        recipient_id = destination.get("recipient_id")
        provider_id = destination.get("id_in_provider_system")
    try:
        recipient = tokens.resolve_recipient(
            session,
            scope=scope,
            recipient_id=str(recipient_id) if recipient_id else None,
            id_in_provider_system=provider_id,
        )
    except ValueError:
        raise InvalidInput("destination.recipient_id: must be a UUID") from None
    token = tokens.mint(
        session,
        scope=scope,
        recipient=recipient,
        origin=payload.application_origin,
        destination=destination,
    )
    return ok({"scoped_token": token}, "scoped token created")


def _recipient_of(scope: Scope, recipient_id: str | None) -> uuid.UUID:
    """The recipient these routes are about: the token's, or one an API key names."""
    if scope.recipient_id is not None:
        return scope.recipient_id
    chosen = uuid_param(recipient_id, name="recipient_id")
    if chosen is None:
        raise InvalidInput(
            "recipient_id: is required with an API key (a scoped token names its recipient itself)"
        )
    return chosen


@router.get("/destinations-for-recipient")
def destinations_for_recipient(
    request: Request,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    page: Pagination,
    recipient_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """The destinations of the scoped token's recipient (the React SDK's list)."""
    chosen = _recipient_of(scope, recipient_id)
    stmt = destinations.list_stmt(scope=scope, recipient_id=chosen)
    return render.listing(
        request,
        session,
        stmt,
        name="destinations",
        sort=Destination.created_at,
        key=Destination.id,
        params=page,
        version=version,
        render=lambda d: render.destination(d, version),
        complete=scope.is_recipient,
    )


@router.get("/models-for-recipient")
def models_for_recipient(
    request: Request,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    page: Pagination,
    recipient_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """The models the recipient's products cover."""
    chosen = _recipient_of(scope, recipient_id)
    recipient = recipients.get(session, scope=scope, recipient_id=chosen)
    covered = products.models_of(session, scope=scope, product_names=recipient.products)
    stmt = models.list_stmt(session, scope=scope, model_names=covered)
    return render.listing(
        request,
        session,
        stmt,
        name="models",
        sort=DataModel.created_at,
        key=DataModel.id,
        params=page,
        version=version,
        render=model_view,
        complete=scope.is_recipient,
    )
