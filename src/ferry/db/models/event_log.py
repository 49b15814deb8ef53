"""The audit log: one immutable event per write."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, IdMixin, JSONDoc, utcnow


class EventLog(IdMixin, Base):
    __tablename__ = "event_log"
    __table_args__ = (
        Index("ix_event_log_page", "environment_id", "created_at", "id"),
        Index("ix_event_log_type", "environment_id", "event_type", "created_at", "id"),
    )

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    event_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    object: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    previous_object: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
