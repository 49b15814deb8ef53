"""Destinations (spec §6.1 #1–8)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ferry.api import render
from ferry.api.deps import AnyScope, ApiVersionDep, DbSession, Pagination, body, sent_object
from ferry.api.envelope import ok
from ferry.api.params import csv_list, uuid_param
from ferry.api.schemas.destinations import (
    DestinationCommon,
    DestinationCreate,
    DestinationCreateBase,
    DestinationPatchCommon,
    DestinationUpdate,
    DestinationUpdateBase,
)
from ferry.api.schemas.vendored import flat_part
from ferry.api.vendor_configs import parse_config, patch_builder
from ferry.connectors import registry
from ferry.db.models import Destination
from ferry.services import destinations, tokens

router = APIRouter(prefix="/destinations", tags=["destinations"])

_SETTINGS = set(DestinationPatchCommon.model_fields) | {"vendor"}


@router.get("")
def list_destinations(
    request: Request,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    page: Pagination,
    recipient_id: Annotated[str | None, Query()] = None,
    id_in_provider_system: Annotated[str | None, Query()] = None,
    vendor: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    stmt = destinations.list_stmt(
        scope=scope,
        recipient_id=uuid_param(recipient_id, name="recipient_id"),
        id_in_provider_system=csv_list(id_in_provider_system, name="id_in_provider_system"),
        vendor=csv_list(vendor, name="vendor"),
    )
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
    )


@router.post("")
def create_destination(
    request: Request,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    payload: DestinationCreate = body(DestinationCreate, DestinationCreateBase),
) -> dict[str, Any]:
    tokens.require_destination(scope, sent_object(request, "destination"))
    given = payload.destination
    connector = registry.destination_class(given.vendor, field="destination.vendor")
    if version.is_base:
        config = parse_config(
            connector, flat_part(given, DestinationCommon), kind="destination", version=version
        )
        data = given.model_dump(include=_SETTINGS, exclude_unset=True)
    else:
        config = given.vendor_config()
        data = given.common()
    data["vendor"] = given.vendor
    created = destinations.create(session, scope=scope, data=data, config=config)
    return ok({"destination": render.destination(created, version)}, "destination created")


@router.get("/{destination_id}")
def get_destination(
    destination_id: uuid.UUID, session: DbSession, scope: AnyScope, version: ApiVersionDep
) -> dict[str, Any]:
    found = destinations.get(session, scope=scope, destination_id=destination_id)
    return ok({"destination": render.destination(found, version)})


@router.patch("/{destination_id}")
def update_destination(
    request: Request,
    destination_id: uuid.UUID,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    payload: DestinationUpdate = body(DestinationUpdate, DestinationUpdateBase),
) -> dict[str, Any]:
    sent = sent_object(request, "destination")
    tokens.require_destination(scope, sent)
    tokens.refuse_new_target(scope, sent)
    given = payload.destination
    fields = given.model_dump(include=_SETTINGS, exclude_unset=True)
    patch: dict[str, Any] | None
    if version.is_base:
        patch = flat_part(given, DestinationPatchCommon)
    else:
        vendor = (
            given.vendor
            or destinations.get(session, scope=scope, destination_id=destination_id).vendor
        )
        patch = given.vendor_patch(vendor, kind="destination")
    build = patch_builder(patch, kind="destination", version=version) if patch else None
    updated = destinations.update(
        session, scope=scope, destination_id=destination_id, fields=fields, build=build
    )
    return ok({"destination": render.destination(updated, version)}, "destination updated")


@router.delete("/{destination_id}")
def delete_destination(
    destination_id: uuid.UUID, session: DbSession, scope: AnyScope
) -> dict[str, Any]:
    destinations.delete(session, scope=scope, destination_id=destination_id)
    return ok({}, "destination deleted")
