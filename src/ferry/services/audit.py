"""The audit log: every write appends one event in the same transaction (spec §9.11), and
that event's webhooks (resource events) are queued with it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ferry.db import queries
from ferry.db.models import EventLog
from ferry.errors import InvalidInput, NotFound
from ferry.scope import Scope
from ferry.services import webhook_delivery

EVENT_TYPES = frozenset(
    {
        "DESTINATION_ADD",
        "DESTINATION_UPDATE",
        "DESTINATION_DELETE",
        "DESTINATION_ENABLE_ALL",
        "DESTINATION_PAUSE_ALL",
        "SOURCE_ADD",
        "SOURCE_UPDATE",
        "SOURCE_DELETE",
        "RECIPIENT_ADD",
        "RECIPIENT_UPDATE",
        "RECIPIENT_DELETE",
        "MODEL_ADD",
        "MODEL_UPDATE",
        "MODEL_DELETE",
        "PRODUCT_ADD",
        "PRODUCT_UPDATE",
        "PRODUCT_DELETE",
        "MAGIC_LINK_CREATE",
        "MAGIC_LINK_DELETE",
        "WEBHOOK_ADD",
        "WEBHOOK_UPDATE",
        "WEBHOOK_DELETE",
        "TRANSFER_CANCELED",
        "RECIPIENT_SOURCE_CREDENTIAL_ADD",
        "RECIPIENT_SOURCE_CREDENTIAL_UPDATE",
        "RECIPIENT_SOURCE_CREDENTIAL_DELETE",
    }
)


def record(
    session: Session,
    scope: Scope,
    event_type: str,
    *,
    resource_id: uuid.UUID | str,
    obj: dict[str, Any] | None = None,
    previous: dict[str, Any] | None = None,
) -> EventLog:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown audit event type {event_type}")
    event = EventLog(
        environment_id=scope.environment_id,
        event_type=event_type,
        resource_id=str(resource_id),
        actor_type=scope.actor_type,
        actor_id=scope.actor_id,
        object=obj,
        previous_object=previous,
    )
    session.add(event)
    session.flush()
    webhook_delivery.on_audit(session, event)
    return event


def list_stmt(
    *, scope: Scope, event_types: list[str] | None = None, min_time: datetime | None = None
) -> Select[EventLog]:
    stmt = queries.select_in(EventLog, scope=scope)
    if event_types:
        unknown = sorted(set(event_types) - EVENT_TYPES)
        if unknown:
            raise InvalidInput(f"event_type: unknown event type {unknown[0]!r}")
        stmt = stmt.where(EventLog.event_type.in_(event_types))
    if min_time is not None:
        stmt = stmt.where(EventLog.created_at >= min_time)
    return stmt


def get(session: Session, *, scope: Scope, log_id: uuid.UUID) -> EventLog:
    event = queries.get_in(session, EventLog, scope=scope, ident=log_id)
    if event is None:
        raise NotFound.of("log", log_id)
    return event
