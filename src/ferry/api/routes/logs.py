"""The audit log (spec §6.1 #47–48)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ferry.api import render
from ferry.api.deps import ApiScope, ApiVersionDep, DbSession, Pagination
from ferry.api.envelope import ok
from ferry.api.params import csv_list, timestamp
from ferry.db.models import EventLog
from ferry.services import audit
from ferry.services.views import event_view

router = APIRouter(prefix="/logs", tags=["logs"])


@router.get("")
def list_logs(
    request: Request,
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    page: Pagination,
    event_type: Annotated[str | None, Query()] = None,
    min_time: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    types = [t.upper() for t in csv_list(event_type, name="event_type") or []]
    stmt = audit.list_stmt(
        scope=scope, event_types=types or None, min_time=timestamp(min_time, name="min_time")
    )
    return render.listing(
        request,
        session,
        stmt,
        name="event_logs",
        sort=EventLog.created_at,
        key=EventLog.id,
        params=page,
        version=version,
        render=event_view,
    )


@router.get("/{log_id}")
def get_log(log_id: uuid.UUID, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    return ok({"event_log": event_view(audit.get(session, scope=scope, log_id=log_id))})
