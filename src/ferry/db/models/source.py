"""Sources: the provider's own databases that data is read from."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, IdMixin, JSONDoc, TimestampMixin


class Source(IdMixin, TimestampMixin, Base):
    __tablename__ = "source"
    __table_args__ = (
        UniqueConstraint("environment_id", "name"),
        Index("ix_source_page", "environment_id", "created_at", "id"),
    )

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    vendor: Mapped[str] = mapped_column(String(64))
    # The vendor object without its secrets; the secrets are sealed apart.
    config: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    is_reachable: Mapped[bool | None]


class RecipientSourceCredential(IdMixin, TimestampMixin, Base):
    """A recipient's own login on a source: that recipient's rows are read with it."""

    __tablename__ = "recipient_source_credential"
    __table_args__ = (
        UniqueConstraint("recipient_id", "source_id"),
        Index("ix_recipient_source_credential_page", "environment_id", "created_at", "id"),
    )

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recipient.id", ondelete="CASCADE"))
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(255))
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
