"""Magic links: single-use pages where a recipient enters its own destination."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, IdMixin, JSONDoc, utcnow


class MagicLink(IdMixin, Base):
    __tablename__ = "magic_link"
    __table_args__ = (Index("ix_magic_link_page", "environment_id", "created_at", "id"),)

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recipient.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    vendor: Mapped[str] = mapped_column(String(64))
    # The link's token: hashed for lookup, sealed so the link can be shown again.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_token: Mapped[str] = mapped_column(Text)
    # Values the page pre-fills (host, bucket_name, …), never secrets.
    prefill: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    products: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    set_destination_enabled: Mapped[bool] = mapped_column(default=True)
    redirect_url: Mapped[str | None] = mapped_column(String(2048))
    has_been_used: Mapped[bool] = mapped_column(default=False)
    used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    destination_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("destination.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
