"""Recipient source credentials (spec §6.1 #26–29)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ferry.api import render
from ferry.api.deps import ApiScope, ApiVersionDep, DbSession, Pagination, body
from ferry.api.envelope import ok
from ferry.api.params import uuid_param
from ferry.api.schemas.credentials import CredentialCreate, CredentialUpdate
from ferry.db.models import RecipientSourceCredential
from ferry.services import credentials
from ferry.services.views import credential_view

router = APIRouter(prefix="/recipient-source-credentials", tags=["recipient source credentials"])
KEY = "recipient_source_credential"


@router.get("")
def list_credentials(
    request: Request,
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    page: Pagination,
    recipient_id: Annotated[str | None, Query()] = None,
    source_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    stmt = credentials.list_stmt(
        scope=scope,
        recipient_id=uuid_param(recipient_id, name="recipient_id"),
        source_id=uuid_param(source_id, name="source_id"),
    )
    return render.listing(
        request,
        session,
        stmt,
        name="recipient_source_credentials",
        sort=RecipientSourceCredential.created_at,
        key=RecipientSourceCredential.id,
        params=page,
        version=version,
        render=credential_view,
    )


@router.post("")
def create_credential(
    session: DbSession, scope: ApiScope, payload: CredentialCreate = body(CredentialCreate)
) -> dict[str, Any]:
    given = payload.recipient_source_credential
    data = given.model_dump() | {"password": given.password.get_secret_value()}
    created = credentials.create(session, scope=scope, data=data)
    return ok({KEY: credential_view(created)}, "recipient source credential created")


@router.get("/{credential_id}")
def get_credential(credential_id: uuid.UUID, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    found = credentials.get(session, scope=scope, credential_id=credential_id)
    return ok({KEY: credential_view(found)})


@router.patch("/{credential_id}")
def update_credential(
    credential_id: uuid.UUID,
    session: DbSession,
    scope: ApiScope,
    payload: CredentialUpdate = body(CredentialUpdate),
) -> dict[str, Any]:
    given = payload.recipient_source_credential
    data = given.model_dump(exclude_unset=True)
    if given.password is not None:
        data["password"] = given.password.get_secret_value()
    updated = credentials.update(session, scope=scope, credential_id=credential_id, data=data)
    return ok({KEY: credential_view(updated)}, "recipient source credential updated")


@router.delete("/{credential_id}")
def delete_credential(
    credential_id: uuid.UUID, session: DbSession, scope: ApiScope
) -> dict[str, Any]:
    credentials.delete(session, scope=scope, credential_id=credential_id)
    return ok({}, "recipient source credential deleted")
