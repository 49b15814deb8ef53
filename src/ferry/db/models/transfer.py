"""Transfers: one run copying a set of models into one destination."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, IdMixin, JSONDoc, utcnow


class TransferStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    PARTIAL_FAILURE = "PARTIAL_FAILURE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    ORPHANED = "ORPHANED"

    @property
    def is_active(self) -> bool:
        return self in (TransferStatus.PENDING, TransferStatus.RUNNING)


ACTIVE_STATUSES = (TransferStatus.PENDING.value, TransferStatus.RUNNING.value)


class Transfer(IdMixin, Base):
    __tablename__ = "transfer"
    __table_args__ = (
        Index("ix_transfer_page", "environment_id", "submitted_at", "id"),
        Index("ix_transfer_destination_page", "destination_id", "submitted_at", "id"),
        Index("ix_transfer_destination_status", "destination_id", "status"),
        # At most one PENDING or RUNNING transfer per destination, whatever races.
        Index(
            "uq_transfer_active_destination",
            "destination_id",
            unique=True,
            postgresql_where=text("status IN ('PENDING', 'RUNNING')"),
            sqlite_where=text("status IN ('PENDING', 'RUNNING')"),
        ),
        Index("ix_transfer_status_submitted", "status", "submitted_at"),
    )

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    destination_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("destination.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(32), default=TransferStatus.PENDING.value)
    is_full_refresh: Mapped[bool] = mapped_column(default=False)
    is_debug_mode: Mapped[bool] = mapped_column(default=False)
    models: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    tags: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    log: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    start_transfer_window_at: Mapped[datetime | None]
    end_transfer_window_at: Mapped[datetime | None]
    rows_transferred: Mapped[int] = mapped_column(BigInteger, default=0)
    delta_rows_transferred: Mapped[int] = mapped_column(BigInteger, default=0)
    volume_transferred_in_mb: Mapped[float] = mapped_column(Float, default=0.0)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_type: Mapped[str | None] = mapped_column(String(32))
    source_ids: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    model_metrics: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    models_snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    cancel_requested_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(255))
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    # The transfer this one retries, when an earlier one was orphaned.
    retry_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("transfer.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
