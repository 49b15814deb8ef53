"""The Admin UI's first page: how much there is, what moved lately and what is failing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from ferry.api.deps import DbSession
from ferry.db import queries
from ferry.db.models import (
    ACTIVE_STATUSES,
    DataModel,
    Destination,
    Product,
    Recipient,
    Source,
    Transfer,
    TransferStatus,
)
from ferry.scope import Scope
from ferry.web.admin.common import AdminRoute, CurrentAdmin

router = APIRouter(prefix="/admin", route_class=AdminRoute, include_in_schema=False)

FAILING = (
    TransferStatus.ERROR.value,
    TransferStatus.PARTIAL_FAILURE.value,
    TransferStatus.ORPHANED.value,
    TransferStatus.EXPIRED.value,
)
RECENT = 8


def _count(model: Any, scope: Scope, *conditions: Any) -> ScalarSelect[int]:
    stmt = queries.select_in(model, scope=scope).where(*conditions)
    counted: ScalarSelect[int] = stmt.with_only_columns(func.count()).scalar_subquery()
    return counted


def counts(session: Session, scope: Scope) -> dict[str, int]:
    """Every count of the page, in one query."""
    row = session.execute(
        select(
            _count(Source, scope).label("sources"),
            _count(DataModel, scope).label("models"),
            _count(Product, scope).label("products"),
            _count(Recipient, scope).label("recipients"),
            _count(Destination, scope).label("destinations"),
            _count(Destination, scope, Destination.is_enabled.is_(True)).label("enabled"),
            _count(Transfer, scope, Transfer.status.in_(ACTIVE_STATUSES)).label("active"),
        )
    ).one()
    return {key: int(value or 0) for key, value in row._mapping.items()}


def recent_transfers(session: Session, scope: Scope, limit: int = RECENT) -> list[Any]:
    """(transfer, destination name) of the latest transfers."""
    return list(
        session.execute(
            queries.select_in(Transfer, scope=scope)
            .join(Destination, Destination.id == Transfer.destination_id)
            .add_columns(Destination.name)
            .order_by(Transfer.submitted_at.desc(), Transfer.id.desc())
            .limit(limit)
        )
    )


def failing_destinations(session: Session, scope: Scope) -> list[Any]:
    """(destination, its last transfer) of destinations whose last transfer did not succeed."""
    return list(
        session.execute(
            queries.select_in(Destination, scope=scope)
            .join(Transfer, Transfer.id == Destination.last_completed_transfer_id)
            .where(Transfer.status.in_(FAILING))
            .add_columns(Transfer)
            .order_by(Transfer.submitted_at.desc())
            .limit(20)
        )
    )


@router.get("")
def overview(admin: CurrentAdmin, session: DbSession) -> Response:
    scope = admin.scope
    return admin.page(
        "admin/overview.html",
        {
            "title": "Overview",
            "counts": counts(session, scope),
            "recent": recent_transfers(session, scope),
            "failing": failing_destinations(session, scope),
        },
        section="overview",
    )
