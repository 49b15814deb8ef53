"""Webhooks: event subscriptions of an environment, and the deployment's signing keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, IdMixin, JSONDoc, TimestampMixin, utcnow


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


class WebhookSigningKey(Base):
    """An RSA key pair signing webhook deliveries, one deployment-wide: the newest signs."""

    __tablename__ = "webhook_signing_key"

    # Hex SHA-256 of the public key (DER SubjectPublicKeyInfo), first 32 digits.
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # 1 for the first key, one more per rotation: two processes generating the first key at
    # once collide here instead of both signing with keys of their own.
    generation: Mapped[int] = mapped_column(unique=True)
    public_key: Mapped[str] = mapped_column(Text)
    sealed_private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
