"""Watermarks: how far each destination has received each model."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, utcnow


class Watermark(Base):
    """The newest last-modified value a destination has committed for a model.

    ``value`` keeps the source column's own precision (microseconds) as ISO 8601 text, with its
    offset for time-zone-aware columns and without one for naive columns.
    """

    __tablename__ = "watermark"

    destination_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("destination.id", ondelete="CASCADE"), primary_key=True
    )
    model_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    source_type: Mapped[str] = mapped_column(String(64))
    transfer_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
