"""Connection tests (spec §6.1 #6, #7, #19, #20 and §6.3).

2023-12-01 answers ``status: "success"`` whenever the request is well formed, with the test's
outcome in ``data.status`` and a structured ``data.error``. 2022-01-01 clients read the outcome
from the top-level ``status``, so a failed test answers ``status: "error"`` there (HTTP 200:
the request itself succeeded).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ferry.api.deps import AnyScope, ApiScope, ApiVersionDep, DbSession, body, sent_object
from ferry.api.envelope import failure, ok
from ferry.api.schemas.destinations import (
    DestinationOverlay,
    DestinationOverlayBase,
    DestinationPatchCommon,
    DestinationTest,
    DestinationTestBase,
)
from ferry.api.schemas.sources import (
    SourceOverlay,
    SourceOverlayBase,
    SourcePatchCommon,
    SourceTest,
    SourceTestBase,
)
from ferry.api.schemas.vendored import flat_part
from ferry.api.vendor_configs import parse_config, patch_builder
from ferry.api.versions import ApiVersion
from ferry.connectors import registry
from ferry.errors import InvalidInput
from ferry.services import connections, destinations, sources, tokens
from ferry.services.connections import CheckResult

router = APIRouter(tags=["connection tests"])


def _answer(result: CheckResult, version: ApiVersion, what: str) -> Any:
    data = result.as_dict()
    if result.ok:
        return ok(data, f"{what}: connection succeeded")
    message = f"{what}: connection failed: {result.error['message'] if result.error else ''}"
    if version.is_base:
        return JSONResponse(failure(message, data=data))
    return ok(data, message)


@router.post("/test-destination")
def check_new_destination(
    request: Request,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    payload: DestinationTest = body(DestinationTest, DestinationTestBase),
) -> Any:
    # A browser may test only what its token was minted for: Ferry connects where told.
    tokens.require_destination(scope, sent_object(request, "destination"))
    given = payload.destination
    if not given.vendor:
        raise InvalidInput("destination.vendor: is required")
    connector = registry.destination_class(given.vendor, field="destination.vendor")
    if version.is_base:
        config = parse_config(
            connector, flat_part(given, DestinationPatchCommon), kind="destination", version=version
        )
    else:
        config = given.vendor_config()
    result = connections.check_destination(session, scope=scope, vendor=given.vendor, config=config)
    return _answer(result, version, "destination")


@router.post("/destinations/{destination_id}/test-connection")
def check_saved_destination(
    request: Request,
    destination_id: uuid.UUID,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    payload: DestinationOverlay = body(DestinationOverlay, DestinationOverlayBase, optional=True),
) -> Any:
    given = payload.destination
    if given is None:
        result = connections.check_saved_destination(
            session, scope=scope, destination_id=destination_id, build=None
        )
        return _answer(result, version, "destination")
    sent = sent_object(request, "destination")
    tokens.require_destination(scope, sent)
    tokens.refuse_new_target(scope, sent)
    if version.is_base:
        patch = flat_part(given, DestinationPatchCommon)
    else:
        vendor = destinations.get(session, scope=scope, destination_id=destination_id).vendor
        patch = given.vendor_patch(vendor, kind="destination") or {}
    build = patch_builder(patch, kind="destination", version=version) if patch else None
    result = connections.check_saved_destination(
        session, scope=scope, destination_id=destination_id, build=build
    )
    return _answer(result, version, "destination")


@router.post("/test-source")
def check_new_source(
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    payload: SourceTest = body(SourceTest, SourceTestBase),
) -> Any:
    given = payload.source
    if not given.vendor:
        raise InvalidInput("source.vendor: is required")
    connector = registry.source_class(given.vendor, field="source.vendor")
    if version.is_base:
        config = parse_config(
            connector, flat_part(given, SourcePatchCommon), kind="source", version=version
        )
    else:
        config = given.vendor_config()
    result = connections.check_source(session, scope=scope, vendor=given.vendor, config=config)
    return _answer(result, version, "source")


@router.post("/sources/{source_id}/test-connection")
def check_saved_source(
    source_id: str,
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    payload: SourceOverlay = body(SourceOverlay, SourceOverlayBase, optional=True),
) -> Any:
    given = payload.source
    if given is None:
        result = connections.check_saved_source(
            session, scope=scope, source_id=source_id, build=None
        )
        return _answer(result, version, "source")
    if version.is_base:
        patch = flat_part(given, SourcePatchCommon)
    else:
        vendor = sources.get(session, scope=scope, source_id=source_id).vendor
        patch = given.vendor_patch(vendor, kind="source") or {}
    build = patch_builder(patch, kind="source", version=version) if patch else None
    result = connections.check_saved_source(session, scope=scope, source_id=source_id, build=build)
    return _answer(result, version, "source")
