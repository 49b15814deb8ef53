"""Transfers from the API's side: request one, list them, read one, cancel one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ferry import jobs
from ferry.db import queries
from ferry.db.base import utcnow
from ferry.db.models import ACTIVE_STATUSES, DataModel, Transfer, TransferStatus
from ferry.errors import Conflict, InvalidInput
from ferry.scope import Scope
from ferry.services import audit, destinations
from ferry.services.lookup import require
from ferry.services.views import transfer_view

RUN_TASK = "ferry.transfer.run"


def get(session: Session, *, scope: Scope, transfer_id: str | uuid.UUID) -> Transfer:
    return require(session, Transfer, scope=scope, ident=transfer_id, kind="transfer")


def list_stmt(
    *,
    scope: Scope,
    destination_id: uuid.UUID | None = None,
    statuses: list[str] | None = None,
    tags: list[tuple[str, str]] | None = None,
    ended_before: datetime | None = None,
    ended_after: datetime | None = None,
) -> Select[Transfer]:
    stmt = queries.select_in(Transfer, scope=scope)
    if destination_id is not None:
        stmt = stmt.where(Transfer.destination_id == destination_id)
    if statuses:
        known = {s.value for s in TransferStatus}
        unknown = [s for s in statuses if s not in known]
        if unknown:
            raise InvalidInput(
                f"status: unknown transfer status {unknown[0]!r}; expected one of "
                + ", ".join(sorted(known))
            )
        stmt = stmt.where(Transfer.status.in_(statuses))
    for key, value in tags or []:
        stmt = stmt.where(Transfer.tags[key].as_string() == value)
    if ended_before is not None:
        stmt = stmt.where(Transfer.ended_at < ended_before)
    if ended_after is not None:
        stmt = stmt.where(Transfer.ended_at > ended_after)
    return stmt


def active_for(session: Session, *, destination_id: uuid.UUID) -> Transfer | None:
    return session.scalar(
        select(Transfer)
        .where(Transfer.destination_id == destination_id, Transfer.status.in_(ACTIVE_STATUSES))
        .order_by(Transfer.submitted_at)
        .limit(1)
    )


def request(
    session: Session, *, scope: Scope, destination_id: str | uuid.UUID, data: dict[str, Any]
) -> tuple[Transfer, bool]:
    """Record a PENDING transfer and wake a worker; (transfer, created).

    A destination runs one transfer at a time: while one is PENDING or RUNNING, asking again
    returns that one (created=False) instead of queueing a second.
    """
    destination = destinations.get(session, scope=scope, destination_id=destination_id)
    available = destinations.effective_models(session, scope=scope, destination=destination)
    wanted = list(dict.fromkeys(data.get("models") or []))
    unknown = [m for m in wanted if m not in available]
    if unknown:
        raise InvalidInput(
            f"models: {unknown[0]!r} is not a model this destination receives "
            f"(it receives: {', '.join(available) or 'none'})"
        )
    start, end = data.get("start_transfer_window_at"), data.get("end_transfer_window_at")
    if start is not None and end is not None and start >= end:
        raise InvalidInput("end_transfer_window_at: must be later than start_transfer_window_at")
    if end is not None and end > utcnow():
        raise InvalidInput("end_transfer_window_at: must not be in the future")
    if start is not None and start > utcnow():
        raise InvalidInput("start_transfer_window_at: must not be in the future")
    active = active_for(session, destination_id=destination.id)
    if active is not None:
        return active, False
    snapshot = [
        {"model_id": str(m.id), "model_name": m.model_name, "revision_id": str(m.revision_id)}
        for m in session.scalars(
            queries.select_in(DataModel, scope=scope).where(
                DataModel.model_name.in_(wanted or available)
            )
        )
    ]
    transfer = Transfer(
        environment_id=scope.environment_id,
        destination_id=destination.id,
        status=TransferStatus.PENDING.value,
        is_full_refresh=bool(data.get("full_refresh")),
        is_debug_mode=bool(data.get("is_debug_mode")),
        models=wanted,
        tags=dict(data.get("tags") or {}),
        start_transfer_window_at=start,
        end_transfer_window_at=end,
        actor_id=scope.actor_id,
        actor_type=scope.actor_type,
        models_snapshot=snapshot,
        log="",
    )
    try:
        # The unique index on active transfers is the arbiter when two requests race.
        with session.begin_nested():
            session.add(transfer)
            session.flush()
    except IntegrityError:
        raced = active_for(session, destination_id=destination.id)
        if raced is None:
            raise
        return raced, False
    jobs.enqueue(session, RUN_TASK, transfer_id=str(transfer.id))
    return transfer, True


def cancel(session: Session, *, scope: Scope, transfer_id: str | uuid.UUID) -> Transfer:
    """Cancel a PENDING transfer at once; ask a RUNNING one to stop at its next checkpoint."""
    transfer = get(session, scope=scope, transfer_id=transfer_id)
    if not TransferStatus(transfer.status).is_active:
        raise Conflict(f"transfer {transfer.id} already ended with status {transfer.status}")
    previous = transfer_view(transfer)
    now = utcnow()
    transfer.cancel_requested_at = now
    if transfer.status == TransferStatus.PENDING.value:
        transfer.status = TransferStatus.CANCELLED.value
        transfer.ended_at = now
        transfer.log += f"{now.isoformat()} cancelled before it started\n"
    session.flush()
    audit.record(
        session,
        scope,
        "TRANSFER_CANCELED",
        resource_id=transfer.id,
        obj=transfer_view(transfer),
        previous=previous,
    )
    return transfer
