"""Webhooks: event subscriptions of an environment."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, IdMixin, JSONDoc, TimestampMixin


class Webhook(IdMixin, TimestampMixin, Base):
    __tablename__ = "webhook"
    __table_args__ = (Index("ix_webhook_page", "environment_id", "created_at", "id"),)

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    vendor: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    api_version: Mapped[str] = mapped_column(String(16))
    events: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    is_enabled: Mapped[bool] = mapped_column(default=True)
