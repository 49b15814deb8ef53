"""Transfers (spec §6.1 #9–13): request, list, read, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import Select

from ferry.api import render
from ferry.api.deps import AnyScope, ApiScope, ApiVersionDep, DbSession, Pagination, body
from ferry.api.envelope import ok
from ferry.api.params import csv_list, tag_pairs, timestamp, uuid_param
from ferry.api.schemas.transfers import TransferRequest
from ferry.db.models import Transfer
from ferry.scope import Scope
from ferry.services import destinations, transfers

router = APIRouter(tags=["transfers"])

StatusQuery = Annotated[str | None, Query(alias="status")]
TextQuery = Annotated[str | None, Query()]


def _filtered(
    scope: Scope,
    destination_id: uuid.UUID | None,
    status: str | None,
    include_tags: str | None,
    ended_before: str | None,
    ended_after: str | None,
) -> Select[Transfer]:
    return transfers.list_stmt(
        scope=scope,
        destination_id=destination_id,
        statuses=[s.upper() for s in csv_list(status, name="status") or []] or None,
        tags=tag_pairs(include_tags),
        ended_before=timestamp(ended_before, name="ended_before"),
        ended_after=timestamp(ended_after, name="ended_after"),
    )


@router.get("/transfers")
def list_transfers(
    request: Request,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    page: Pagination,
    destination_id: TextQuery = None,
    status: StatusQuery = None,
    include_tags: TextQuery = None,
    ended_before: TextQuery = None,
    ended_after: TextQuery = None,
) -> dict[str, Any]:
    stmt = _filtered(
        scope,
        uuid_param(destination_id, name="destination_id"),
        status,
        include_tags,
        ended_before,
        ended_after,
    )
    return render.listing(
        request,
        session,
        stmt,
        name="transfers",
        sort=Transfer.submitted_at,
        key=Transfer.id,
        params=page,
        version=version,
        render=lambda t: render.transfer(t, version),
    )


@router.get("/destinations/{destination_id}/transfers")
def list_destination_transfers(
    destination_id: uuid.UUID,
    request: Request,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    page: Pagination,
    status: StatusQuery = None,
    include_tags: TextQuery = None,
    ended_before: TextQuery = None,
    ended_after: TextQuery = None,
) -> dict[str, Any]:
    destination = destinations.get(session, scope=scope, destination_id=destination_id)
    stmt = _filtered(scope, destination.id, status, include_tags, ended_before, ended_after)
    return render.listing(
        request,
        session,
        stmt,
        name="transfers",
        sort=Transfer.submitted_at,
        key=Transfer.id,
        params=page,
        version=version,
        render=lambda t: render.transfer(t, version),
    )


@router.post("/destinations/{destination_id}/transfer")
def request_transfer(
    destination_id: uuid.UUID,
    session: DbSession,
    scope: ApiScope,
    payload: TransferRequest = body(TransferRequest, optional=True),
) -> dict[str, Any]:
    transfer, created = transfers.request(
        session,
        scope=scope,
        destination_id=destination_id,
        data=payload.model_dump(exclude_unset=True),
    )
    message = (
        "transfer submitted"
        if created
        else f"a transfer of this destination is already {transfer.status}; returning it"
    )
    return ok({"transfer_id": str(transfer.id), "status": transfer.status}, message)


@router.get("/transfers/{transfer_id}")
def get_transfer(
    transfer_id: uuid.UUID, session: DbSession, scope: AnyScope, version: ApiVersionDep
) -> dict[str, Any]:
    found = transfers.get(session, scope=scope, transfer_id=transfer_id)
    return ok({"transfer": render.transfer(found, version)})


@router.post("/transfers/{transfer_id}/cancel")
def cancel_transfer(
    transfer_id: uuid.UUID, session: DbSession, scope: ApiScope, version: ApiVersionDep
) -> dict[str, Any]:
    cancelled = transfers.cancel(session, scope=scope, transfer_id=transfer_id)
    message = (
        "transfer cancelled"
        if cancelled.status == "CANCELLED"
        else "cancellation requested; the transfer stops at its next checkpoint"
    )
    return ok({"transfer": render.transfer(cancelled, version)}, message)
