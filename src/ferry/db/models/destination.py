"""Destinations: one recipient's warehouse, database or bucket."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ferry.db.base import Base, IdMixin, JSONDoc, TimestampMixin

if TYPE_CHECKING:
    from ferry.db.models.recipient import Recipient
    from ferry.db.models.transfer import Transfer


class Destination(IdMixin, TimestampMixin, Base):
    __tablename__ = "destination"
    __table_args__ = (
        Index("ix_destination_page", "environment_id", "created_at", "id"),
        Index("ix_destination_recipient", "recipient_id", "created_at", "id"),
        Index("ix_destination_target", "environment_id", "target_key"),
        Index("ix_destination_placement", "environment_id", "placement_key"),
    )

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recipient.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    vendor: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    # Identity of the place written to (host/database/schema, bucket/folder…): two recipients
    # never share one.
    target_key: Mapped[str] = mapped_column(String(64))
    # Identity of the connection written through (everything public but the place within it:
    # host/database/user…), for vendors whose transfers can share one pass (see
    # transfer.group); None for the others.
    placement_key: Mapped[str | None] = mapped_column(String(64))
    products: Mapped[list[str] | None] = mapped_column(JSONDoc)
    enabled_models: Mapped[list[str]] = mapped_column(JSONDoc, default=lambda: ["*"])
    frequency_minutes: Mapped[int] = mapped_column(default=0)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    max_concurrent_transfers: Mapped[int] = mapped_column(default=1)
    max_concurrent_queries_per_transfer: Mapped[int] = mapped_column(default=1)
    last_successful_transfer_ended_at: Mapped[datetime | None]
    # The running transfer's lease: one transfer at a time, and a dead worker's lease expires.
    lease_holder: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None]
    # The schedule slot the scheduler last started a transfer for (see transfer.schedule).
    last_scheduled_at: Mapped[datetime | None]
    last_completed_transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("transfer.id", ondelete="SET NULL", use_alter=True)
    )

    recipient: Mapped[Recipient] = relationship(lazy="raise")
    last_completed_transfer: Mapped[Transfer | None] = relationship(
        foreign_keys=[last_completed_transfer_id], lazy="raise", post_update=True
    )
