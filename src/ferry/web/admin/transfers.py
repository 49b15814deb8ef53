"""Transfers in the Admin UI: the list (with its chart), starting one from a destination's
page, cancelling, and one transfer's page, which follows a running transfer live (its script
polls ``/live`` for the part of the page that changes)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from ferry.api.deps import DbSession
from ferry.api.envelope import ok
from ferry.db.models import Destination, Transfer, TransferStatus
from ferry.errors import FerryError, InvalidInput
from ferry.services import destinations, transfers
from ferry.services.lookup import as_uuid
from ferry.web.admin import charts
from ferry.web.admin.common import (
    STATUS_LABELS,
    Admin,
    AdminRoute,
    CurrentAdmin,
    next_link,
    page_of,
    see_other,
)
from ferry.web.admin.destinations import detail as destination_detail
from ferry.web.pages import templates

router = APIRouter(prefix="/admin", route_class=AdminRoute, include_in_schema=False)
LOG_LINES = 500  # the newest lines shown; the API returns the whole log


@router.get("/transfers")
def list_transfers(
    admin: CurrentAdmin,
    session: DbSession,
    status: str | None = None,
    destination_id: str | None = None,
    cursor: str | None = None,
) -> Response:
    wanted_status = status.upper() if status and status.upper() in STATUS_LABELS else None
    wanted_destination = as_uuid(destination_id) if destination_id else None
    destination = (
        destinations.get(session, scope=admin.scope, destination_id=wanted_destination)
        if wanted_destination is not None
        else None
    )
    stmt = transfers.list_stmt(
        scope=admin.scope,
        destination_id=wanted_destination,
        statuses=[wanted_status] if wanted_status else None,
    )
    page = page_of(session, stmt, sort=Transfer.submitted_at, key=Transfer.id, cursor=cursor)
    names = _names(session, admin, {t.destination_id for t in page.items})
    return admin.page(
        "admin/transfers.html",
        {
            "title": "Transfers",
            "rows": [(t, names.get(t.destination_id, "")) for t in page.items],
            "next_url": next_link(admin.request, page),
            "status": wanted_status or "",
            "destination": destination,
            "chart": charts.rows_per_day(
                session, scope=admin.scope, destination_id=wanted_destination
            ),
        },
        section="transfers",
    )


def _names(session: Session, admin: Admin, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    stmt = destinations.list_stmt(scope=admin.scope).where(Destination.id.in_(ids))
    return {d.id: d.name for d in session.scalars(stmt)}


@router.post("/destinations/{destination_id}/transfer")
def start_transfer(destination_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    destination = destinations.get(session, scope=admin.scope, destination_id=destination_id)
    data: dict[str, Any] = {
        "full_refresh": admin.value("full_refresh") == "true",
        "models": [m for m in admin.values("models") if m],
    }
    try:
        with session.begin_nested():
            transfer, created = transfers.request(
                session, scope=admin.scope, destination_id=destination.id, data=data
            )
    except InvalidInput as exc:
        return destination_detail(
            admin, session, destination, transfer_error=exc.message, status_code=400
        )
    done = "started" if created else "already-running"
    return see_other(f"/admin/transfers/{transfer.id}", done=done)


def _transfer(admin: Admin, session: Session, transfer_id: str) -> Transfer:
    return transfers.get(session, scope=admin.scope, transfer_id=transfer_id)


def _model_rows(transfer: Transfer) -> list[dict[str, Any]]:
    """Each model of the transfer with its metrics and a status of its own."""
    active = TransferStatus(transfer.status).is_active
    by_name = {str(m.get("model_name")): m for m in transfer.model_metrics}
    names = [str(m.get("model_name")) for m in transfer.models_snapshot] or list(by_name)
    rows = []
    for name in dict.fromkeys([*names, *by_name]):
        metrics = by_name.get(name, {})
        error = metrics.get("error")
        if error:
            state = ("error", "Failed")
        elif metrics.get("most_recent_last_updated_at") or (metrics and not active):
            state = ("success", "Done")
        elif metrics:
            state = ("running", "Running")
        else:
            state = ("pending", "Waiting" if active else "Not run")
        rows.append(
            {
                "name": name,
                "state": state,
                "rows": metrics.get("rows_transferred"),
                "changed": metrics.get("delta_rows_transferred"),
                "mb": metrics.get("volume_transferred_in_mb"),
                "newest": metrics.get("most_recent_last_updated_at"),
                "error": error.get("message") if isinstance(error, dict) else error,
            }
        )
    return rows


def _live_context(transfer: Transfer) -> dict[str, Any]:
    lines = transfer.log.splitlines()
    return {
        "transfer": transfer,
        "is_active": TransferStatus(transfer.status).is_active,
        "models": _model_rows(transfer),
        "log_lines": lines[-LOG_LINES:],
        "log_cut": max(0, len(lines) - LOG_LINES),
        "status_labels": STATUS_LABELS,
    }


@router.get("/transfers/{transfer_id}")
def show_transfer(transfer_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    transfer = _transfer(admin, session, transfer_id)
    destination = destinations.get(
        session, scope=admin.scope, destination_id=transfer.destination_id
    )
    return admin.page(
        "admin/transfer.html",
        {"title": "Transfer", "destination": destination, **_live_context(transfer)},
        section="transfers",
    )


@router.get("/transfers/{transfer_id}/live")
def live_transfer(transfer_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    """The changing part of the transfer's page, for its script: HTML, and whether to ask
    again."""
    transfer = _transfer(admin, session, transfer_id)
    context = _live_context(transfer)
    html = templates.get_template("admin/_transfer_live.html").render(**context)
    return JSONResponse(
        ok({"html": html, "status": transfer.status, "is_active": context["is_active"]}),
        headers={"Cache-Control": "no-store"},
    )


@router.post("/transfers/{transfer_id}/cancel")
def cancel_transfer(transfer_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    transfer = _transfer(admin, session, transfer_id)
    try:
        with session.begin_nested():
            cancelled = transfers.cancel(session, scope=admin.scope, transfer_id=transfer.id)
    except FerryError as exc:
        if exc.http_status >= 500:
            raise
        # Already ended: the page shows how.
        return see_other(f"/admin/transfers/{transfer.id}")
    done = "cancelled" if cancelled.status == "CANCELLED" else "cancel-requested"
    return see_other(f"/admin/transfers/{transfer.id}", done=done)
