"""Sources (spec §6.1 #14–20). Paths take a source's id or its name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ferry.api import render
from ferry.api.deps import ApiScope, ApiVersionDep, DbSession, Pagination, body
from ferry.api.envelope import ok
from ferry.api.schemas.sources import (
    SourceCommon,
    SourceCreate,
    SourceCreateBase,
    SourceUpdate,
    SourceUpdateBase,
)
from ferry.api.schemas.vendored import flat_part
from ferry.api.vendor_configs import parse_config, patch_builder
from ferry.connectors import registry
from ferry.db.models import Source
from ferry.services import sources

router = APIRouter(prefix="/sources", tags=["sources"])


@router.get("")
def list_sources(
    request: Request, session: DbSession, scope: ApiScope, version: ApiVersionDep, page: Pagination
) -> dict[str, Any]:
    return render.listing(
        request,
        session,
        sources.list_stmt(scope=scope),
        name="sources",
        sort=Source.created_at,
        key=Source.id,
        params=page,
        version=version,
        render=lambda s: render.source(s, version),
    )


@router.post("")
def create_source(
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    payload: SourceCreate = body(SourceCreate, SourceCreateBase),
) -> dict[str, Any]:
    given = payload.source
    connector = registry.source_class(given.vendor, field="source.vendor")
    if version.is_base:
        config = parse_config(
            connector, flat_part(given, SourceCommon), kind="source", version=version
        )
    else:
        config = given.vendor_config()
    created = sources.create(
        session, scope=scope, name=given.name, vendor=given.vendor, config=config
    )
    return ok({"source": render.source(created, version)}, "source created")


@router.get("/{source_id}")
def get_source(
    source_id: str, session: DbSession, scope: ApiScope, version: ApiVersionDep
) -> dict[str, Any]:
    found = sources.get(session, scope=scope, source_id=source_id)
    return ok({"source": render.source(found, version)})


@router.patch("/{source_id}")
def update_source(
    source_id: str,
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    payload: SourceUpdate = body(SourceUpdate, SourceUpdateBase),
) -> dict[str, Any]:
    given = payload.source
    fields = {"name": given.name, "vendor": given.vendor}
    patch: dict[str, Any] | None
    if version.is_base:
        patch = flat_part(given, SourceCommon)
    else:
        vendor = given.vendor or sources.get(session, scope=scope, source_id=source_id).vendor
        patch = given.vendor_patch(vendor, kind="source")
    build = patch_builder(patch, kind="source", version=version) if patch else None
    updated = sources.update(session, scope=scope, source_id=source_id, fields=fields, build=build)
    return ok({"source": render.source(updated, version)}, "source updated")


@router.delete("/{source_id}")
def delete_source(source_id: str, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    sources.delete(session, scope=scope, source_id=source_id)
    return ok({}, "source deleted")
