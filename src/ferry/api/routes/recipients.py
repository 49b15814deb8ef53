"""Recipients (spec §6.1 #21–25)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ferry.api import render
from ferry.api.deps import ApiScope, ApiVersionDep, DbSession, Pagination, body
from ferry.api.envelope import ok
from ferry.api.params import csv_list
from ferry.api.schemas.recipients import (
    RecipientCreate,
    RecipientCreateBase,
    RecipientUpdate,
    RecipientUpdateBase,
)
from ferry.db.models import Recipient
from ferry.services import recipients
from ferry.services.views import recipient_view

router = APIRouter(prefix="/recipients", tags=["recipients"])


@router.get("")
def list_recipients(
    request: Request,
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    page: Pagination,
    id_in_provider_system: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    stmt = recipients.list_stmt(
        scope=scope,
        id_in_provider_system=csv_list(id_in_provider_system, name="id_in_provider_system"),
    )
    return render.listing(
        request,
        session,
        stmt,
        name="recipients",
        sort=Recipient.created_at,
        key=Recipient.id,
        params=page,
        version=version,
        render=recipient_view,
    )


@router.post("")
def create_recipient(
    session: DbSession,
    scope: ApiScope,
    payload: RecipientCreate = body(RecipientCreate, RecipientCreateBase),
) -> dict[str, Any]:
    data = payload.recipient.model_dump(exclude_unset=True, by_alias=True)
    created = recipients.create(session, scope=scope, data=data)
    return ok({"recipient": recipient_view(created)}, "recipient created")


@router.get("/{recipient_id}")
def get_recipient(recipient_id: uuid.UUID, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    found = recipients.get(session, scope=scope, recipient_id=recipient_id)
    return ok({"recipient": recipient_view(found)})


@router.patch("/{recipient_id}")
def update_recipient(
    recipient_id: uuid.UUID,
    session: DbSession,
    scope: ApiScope,
    payload: RecipientUpdate = body(RecipientUpdate, RecipientUpdateBase),
) -> dict[str, Any]:
    data = payload.recipient.model_dump(exclude_unset=True, by_alias=True)
    updated = recipients.update(session, scope=scope, recipient_id=recipient_id, data=data)
    return ok({"recipient": recipient_view(updated)}, "recipient updated")


@router.delete("/{recipient_id}")
def delete_recipient(
    recipient_id: uuid.UUID, session: DbSession, scope: ApiScope
) -> dict[str, Any]:
    recipients.delete(session, scope=scope, recipient_id=recipient_id)
    return ok({}, "recipient deleted")
