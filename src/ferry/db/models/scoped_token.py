"""Scoped tokens handed to recipients' browsers (the React SDK): one row per token minted."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, utcnow


class ScopedToken(Base):
    """A token's record: revocable by deleting its recipient, and its origin allowed for CORS
    while it lives. The token itself is never stored."""

    __tablename__ = "scoped_token"
    __table_args__ = (Index("ix_scoped_token_origin", "origin", "expires_at"),)

    jti: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recipient.id", ondelete="CASCADE"))
    origin: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
