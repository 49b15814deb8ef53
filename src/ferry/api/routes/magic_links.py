"""Magic links (spec §6.1 #42–44): the records and their links."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from ferry.api import render
from ferry.api.deps import ApiScope, ApiVersionDep, BaseUrl, DbSession, Pagination, body
from ferry.api.envelope import ok
from ferry.api.schemas.magic_links import MagicLinkCreate, MagicLinkCreateBase
from ferry.db.models import MagicLink
from ferry.errors import InvalidInput
from ferry.services import magic_links

router = APIRouter(prefix="/magic-links", tags=["magic links"])


@router.get("")
def list_magic_links(
    request: Request,
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    page: Pagination,
    base_url: BaseUrl,
) -> dict[str, Any]:
    return render.listing(
        request,
        session,
        magic_links.list_stmt(scope=scope),
        name="magic_links",
        sort=MagicLink.created_at,
        key=MagicLink.id,
        params=page,
        version=version,
        render=lambda link: magic_links.view(session, scope=scope, link=link, base_url=base_url),
    )


@router.post("")
def create_magic_link(
    session: DbSession,
    scope: ApiScope,
    base_url: BaseUrl,
    payload: MagicLinkCreate = body(MagicLinkCreate, MagicLinkCreateBase),
) -> dict[str, Any]:
    data = payload.magic_link.model_dump(exclude_unset=True)
    if data.get("recipient_id") is None and data.get("id_in_provider_system") is None:
        raise InvalidInput("magic_link.recipient_id: is required (or id_in_provider_system)")
    created = magic_links.create(session, scope=scope, data=data, base_url=base_url)
    return ok({"magic_link": created}, "magic link created")


@router.get("/{link_id}")
def get_magic_link(
    link_id: uuid.UUID, session: DbSession, scope: ApiScope, base_url: BaseUrl
) -> dict[str, Any]:
    link = magic_links.get(session, scope=scope, link_id=link_id)
    return ok({"magic_link": magic_links.view(session, scope=scope, link=link, base_url=base_url)})


@router.delete("/{link_id}")
def delete_magic_link(link_id: uuid.UUID, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    magic_links.delete(session, scope=scope, link_id=link_id)
    return ok({}, "magic link deleted")
