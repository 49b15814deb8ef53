"""Recipients: the provider's customers, each receiving its own slice of the data."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, IdMixin, JSONDoc, TimestampMixin


class Recipient(IdMixin, TimestampMixin, Base):
    __tablename__ = "recipient"
    __table_args__ = (
        UniqueConstraint("environment_id", "id_in_provider_system"),
        Index("ix_recipient_page", "environment_id", "created_at", "id"),
    )

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    id_in_provider_system: Mapped[str] = mapped_column(String(255))
    products: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    # Schema-tenanted mode of the 2022-01-01 API: the recipient's schema in the source.
    schema: Mapped[str | None] = mapped_column(String(255))
    default_full_refresh_min_start_time_epoch: Mapped[int | None] = mapped_column(BigInteger)
